"""Properties of the engine over any valid assessment (the input serializer's ranges), by hypothesis."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from prescriptions.eligibility import (
    ALL_CRITERION_CODES,
    SHIPPED_VERSIONS,
    Assessment,
    ConcomitantMedication,
    Pneumonia,
    Regimen,
    RespiratorySupport,
    ShortagePeriod,
    criteria_in_force,
    evaluate,
)
from prescriptions.eligibility.calendar import REGISTRY_TIME_ZONE, rome_date
from prescriptions.eligibility.criteria import CRITERIA

(VERSION,) = SHIPPED_VERSIONS
CATALOGUE = VERSION.catalogue
OUTCOMES = {"pass", "fail", "warn", "info"}

EXAMPLES = settings(max_examples=150, deadline=None)

ZONES = st.sampled_from(
    [REGISTRY_TIME_ZONE, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
# Noon or later on the first day, so that every zone above puts it on or after 5 October 2021 in Rome.
moments = st.datetimes(min_value=datetime(2021, 10, 5, 12), max_value=datetime(2030, 12, 31), timezones=ZONES)


def decimals(low: str, high: str, places: int):
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places)


def optional(strategy):
    return st.none() | strategy


KNOWN_NAMES = sorted({name for substance in CATALOGUE.substances for name in substance.names})
KNOWN_CODES = sorted({code for substance in CATALOGUE.substances for code in substance.atc_codes})
written_names = st.sampled_from(KNOWN_NAMES) | st.text(max_size=30) | st.sampled_from(["Tachipirina", "ROACTEMRA 20"])
written_codes = st.sampled_from(KNOWN_CODES) | st.from_regex(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}", fullmatch=True)


@st.composite
def medications(draw, assessed_at: datetime):
    name = draw(optional(written_names))
    atc_code = draw(optional(written_codes))
    if name is None and atc_code is None:
        name = draw(st.sampled_from(KNOWN_NAMES))
    ongoing = draw(st.booleans())
    last_dose_at = draw(optional(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))))
    if not ongoing and last_dose_at is None:
        ongoing = True
    return ConcomitantMedication(
        name=name,
        atc_code=atc_code,
        ongoing=ongoing,
        last_dose_at=None if last_dose_at is None else assessed_at - last_dose_at,
    )


regimens = st.just(VERSION.regimen) | st.builds(
    Regimen,
    dose_mg=decimals("0.001", "10000", 3),
    route=st.sampled_from(["SC", "IV"]),
    interval_hours=st.integers(1, 168),
    duration_days=st.integers(1, 365),
)


@st.composite
def assessments(draw) -> Assessment:
    assessed_at = draw(moments)
    return Assessment(
        assessed_at=assessed_at,
        birth_date=draw(st.dates(min_value=date(1900, 1, 1), max_value=rome_date(assessed_at))),
        sex=draw(st.sampled_from(["M", "F"])),
        weight_kg=draw(optional(decimals("1", "500", 1))),
        hospitalised=draw(st.booleans()),
        sars_cov_2_confirmed=draw(st.booleans()),
        pneumonia=draw(st.sampled_from(list(Pneumonia))).value,
        pao2_mmhg=draw(decimals("20", "700", 2)),
        fio2=draw(decimals("0.21", "1", 3)),
        respiratory_support=draw(st.sampled_from(list(RespiratorySupport))).value,
        supar_ng_ml=draw(decimals("0", "100", 2)),
        anc_10e9_l=draw(optional(decimals("0", "300", 3))),
        creatinine_clearance_ml_min=draw(optional(decimals("0", "400", 2))),
        alt_x_uln=draw(optional(decimals("0", "500", 2))),
        ast_x_uln=draw(optional(decimals("0", "500", 2))),
        known_hypersensitivity=draw(st.booleans()),
        pregnant_or_breastfeeding=draw(st.booleans()),
        live_vaccine=draw(st.booleans()),
        concomitant_medications=tuple(draw(st.lists(medications(assessed_at), max_size=4))),
        regimen=draw(regimens),
    )


@st.composite
def shortage_lists(draw):
    periods = []
    for _ in range(draw(st.integers(0, 2))):
        starts_on = draw(st.dates(min_value=date(2021, 1, 1), max_value=date(2031, 1, 1)))
        length = draw(optional(st.integers(0, 2000)))
        ends_on = None if length is None else starts_on + timedelta(days=length)
        periods.append(ShortagePeriod(starts_on=starts_on, ends_on=ends_on, reference="n. 1"))
    return periods


def judge(subject: Assessment, shortages):
    with translation.override("en"):
        return evaluate(subject, criteria=criteria_in_force(subject.assessed_at), shortages=shortages)


@EXAMPLES
@given(assessments(), shortage_lists())
def test_any_valid_assessment_gets_a_complete_verdict(subject, shortages):
    verdict = judge(subject, shortages)

    assert tuple(result.code for result in verdict.results) == ALL_CRITERION_CODES
    assert all(result.outcome in OUTCOMES for result in verdict.results)
    assert all(result.message and result.source for result in verdict.results)
    assert verdict.criteria_version == "L648-2021-10"
    json.dumps(verdict.as_dict())


@EXAMPLES
@given(assessments(), shortage_lists())
def test_eligible_exactly_when_nothing_fails(subject, shortages):
    verdict = judge(subject, shortages)

    fails = [result.code for result in verdict.results if result.outcome == "fail"]
    assert verdict.eligible is (not fails)
    assert list(verdict.failed_codes) == fails


@EXAMPLES
@given(assessments(), decimals("0", "100", 2), decimals("0", "700", 2))
def test_raising_supar_or_pao2_never_turns_a_pass_into_a_fail(subject, supar_rise, pao2_rise):
    before = judge(subject, [])
    after = judge(
        replace(
            subject,
            supar_ng_ml=subject.supar_ng_ml + supar_rise,
            # The engine refuses a PaO2 no patient can have (above 800 mmHg): raise within what can be.
            pao2_mmhg=min(subject.pao2_mmhg + pao2_rise, Decimal("700")),
        ),
        [],
    )

    for code in ("SUPAR_AT_LEAST_6", "PAO2_FIO2_ABOVE_150"):
        if before.result(code).outcome == "pass":
            assert after.result(code).outcome == "pass"
    assert set(after.failed_codes) <= set(before.failed_codes)


@EXAMPLES
@given(assessments(), decimals("0", "0.79", 3))
def test_lowering_fio2_never_turns_a_pass_into_a_fail(subject, fio2_fall):
    lower_fio2 = max(Decimal("0.21"), subject.fio2 - fio2_fall)
    before = judge(subject, [])
    after = judge(replace(subject, fio2=lower_fio2), [])

    if before.result("PAO2_FIO2_ABOVE_150").outcome == "pass":
        assert after.result("PAO2_FIO2_ABOVE_150").outcome == "pass"


@EXAMPLES
@given(assessments(), assessments(), shortage_lists())
def test_a_criterion_ignores_every_field_it_does_not_read(subject, other, shortages):
    """Take another assessment and give it only the fields one criterion reads: that criterion must say
    exactly the same thing about both."""
    verdict = judge(subject, shortages)
    for criterion in CRITERIA:
        hybrid = replace(other, **{field: getattr(subject, field) for field in criterion.reads})
        if "concomitant_medications" not in criterion.reads:
            # The engine refuses a last dose after the assessment: keep only the other's medications that fit.
            fitting = tuple(
                medication
                for medication in hybrid.concomitant_medications
                if medication.last_dose_at is None or medication.last_dose_at <= hybrid.assessed_at
            )
            hybrid = replace(hybrid, concomitant_medications=fitting)
        assert judge(hybrid, shortages).result(criterion.code) == verdict.result(criterion.code), criterion.code


@EXAMPLES
@given(assessments())
def test_pao2_fio2_is_compared_exactly(subject):
    exact_ratio = Fraction(subject.pao2_mmhg) / Fraction(subject.fio2)
    outcome = judge(subject, []).result("PAO2_FIO2_ABOVE_150").outcome

    assert outcome == ("pass" if exact_ratio > 150 else "fail")


@EXAMPLES
@given(st.decimals(min_value=Decimal("0.21"), max_value=Decimal("1"), places=4))
def test_exactly_150_always_fails(fio2):
    subject = assessment_with(pao2_mmhg=150 * fio2, fio2=fio2)

    assert judge(subject, []).result("PAO2_FIO2_ABOVE_150").outcome == "fail"
    assert judge(replace(subject, pao2_mmhg=subject.pao2_mmhg + Decimal("0.0001")), []).result(
        "PAO2_FIO2_ABOVE_150"
    ).outcome == ("pass")


@EXAMPLES
@given(assessments())
def test_age_is_18_from_the_18th_birthday(subject):
    born = subject.birth_date
    try:
        birthday_18 = born.replace(year=born.year + 18)
    except ValueError:  # 29 February: the year completes on 1 March
        birthday_18 = date(born.year + 18, 3, 1)
    outcome = judge(subject, []).result("AGE_ADULT").outcome

    assert outcome == ("pass" if rome_date(subject.assessed_at) >= birthday_18 else "fail")


@EXAMPLES
@given(assessments(), shortage_lists())
def test_the_shortage_criterion_is_exactly_coverage_of_the_rome_date(subject, shortages):
    day = rome_date(subject.assessed_at)
    covered = any(p.starts_on <= day and (p.ends_on is None or day <= p.ends_on) for p in shortages)

    assert judge(subject, shortages).result("TOCILIZUMAB_SHORTAGE").outcome == ("pass" if covered else "fail")


@EXAMPLES
@given(assessments(), st.lists(st.text(max_size=20).filter(lambda text: not _known(text)), min_size=1, max_size=3))
def test_unknown_medicines_fail_only_the_il_jak_criterion_unless_confirmed(subject, unknown_names):
    def unknown(confirmed):
        return tuple(
            ConcomitantMedication(name=f"zz-unknown {name}", ongoing=True, confirmed_not_il_jak=confirmed)
            for name in unknown_names
        )

    plain = judge(subject, [])
    unconfirmed = judge(replace(subject, concomitant_medications=subject.concomitant_medications + unknown(False)), [])
    confirmed = judge(replace(subject, concomitant_medications=subject.concomitant_medications + unknown(True)), [])

    assert not unconfirmed.eligible
    assert set(unconfirmed.failed_codes) == set(plain.failed_codes) | {"NO_IL_OR_JAK_INHIBITOR"}
    assert "zz-unknown" in unconfirmed.result("NO_IL_OR_JAK_INHIBITOR").message
    assert confirmed.failed_codes == plain.failed_codes
    assert confirmed.eligible == plain.eligible
    recorded = confirmed.result("NO_IL_OR_JAK_INHIBITOR").details["confirmed_not_il_jak"]
    assert recorded == [medication.label for medication in unknown(True)]


def _known(name: str) -> bool:
    return bool(CATALOGUE.identify(ConcomitantMedication(name=name, ongoing=True)))


def assessment_with(**changes) -> Assessment:
    base = Assessment(
        assessed_at=datetime(2021, 11, 3, 10, tzinfo=REGISTRY_TIME_ZONE),
        birth_date=date(1960, 5, 1),
        sex="F",
        weight_kg=None,
        hospitalised=True,
        sars_cov_2_confirmed=True,
        pneumonia="severe",
        pao2_mmhg=Decimal("80"),
        fio2=Decimal("0.40"),
        respiratory_support="none",
        supar_ng_ml=Decimal("7"),
    )
    return replace(base, **changes)


@EXAMPLES
@given(assessments(), shortage_lists())
def test_pregnancy_and_live_vaccine_warn_exactly_when_recorded_and_never_refuse(subject, shortages):
    verdict = judge(subject, shortages)

    assert (verdict.result("PREGNANCY_BREASTFEEDING").outcome == "warn") == subject.pregnant_or_breastfeeding
    assert (verdict.result("LIVE_VACCINE").outcome == "warn") == subject.live_vaccine
    flipped = judge(
        replace(
            subject,
            pregnant_or_breastfeeding=not subject.pregnant_or_breastfeeding,
            live_vaccine=not subject.live_vaccine,
        ),
        shortages,
    )
    assert flipped.eligible == verdict.eligible


@EXAMPLES
@given(st.sampled_from(["L04AC", "L04AF", "L01EJ"]), st.from_regex(r"[0-9]{2}", fullmatch=True), moments)
def test_any_complete_code_of_a_blocking_group_fails_naming_the_group(group, digits, moment):
    code = group + digits
    subject = Assessment(
        assessed_at=moment,
        birth_date=date(1960, 5, 1),
        sex="F",
        weight_kg=None,
        hospitalised=True,
        sars_cov_2_confirmed=True,
        pneumonia="severe",
        pao2_mmhg=Decimal("80"),
        fio2=Decimal("0.40"),
        respiratory_support="none",
        supar_ng_ml=Decimal("7"),
        concomitant_medications=(ConcomitantMedication(atc_code=code, ongoing=True),),
    )
    result = judge(subject, []).result("NO_IL_OR_JAK_INHIBITOR")
    with translation.override("en"):
        message = result.message

    assert result.outcome == "fail"
    if not any(code in substance.atc_codes for substance in CATALOGUE.substances):
        assert f"ATC group {group}:" in message
    assert "Give its" not in message
