"""A representative set of assessments for the verdict texts: every criterion on each of its outcomes, every
kind of parameter (a date, a decimal, a plural, a label with a context, a joined list, sentences).

``data/verdict_messages_en.json`` holds the English messages the engine produced for them when it still rendered
its texts as it ran (``python -m tests.prescriptions.verdict_cases`` wrote it, before the change).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from prescriptions.eligibility import Regimen
from prescriptions.eligibility.calendar import REGISTRY_TIME_ZONE as ROME

from .test_eligibility_engine import assessment, days_before, medication

TOCILIZUMAB_NOV_1 = medication(atc_code="L04AC07", last_dose_at=datetime(2021, 11, 1, 8, 0, tzinfo=ROME))


def cases() -> dict:
    """name → (assessment, shortages: "in force" or "none")."""
    return {
        "reference": (assessment(), "in force"),
        "api_example": (
            assessment(concomitant_medications=(TOCILIZUMAB_NOV_1, medication("warfarin", ongoing=True))),
            "in force",
        ),
        "under_age": (assessment(birth_date=datetime(2005, 1, 1).date()), "in force"),
        "born_after": (assessment(birth_date=datetime(2021, 12, 1).date()), "in force"),
        "not_hospitalised_mild": (
            assessment(hospitalised=False, sars_cov_2_confirmed=False, pneumonia="mild"),
            "in force",
        ),
        "ratio_exactly_150_cpap": (
            assessment(pao2_mmhg=Decimal("45"), fio2=Decimal("0.30"), respiratory_support="cpap"),
            "in force",
        ),
        "ratio_just_above": (assessment(pao2_mmhg=Decimal("45.01"), fio2=Decimal("0.30")), "in force"),
        "ratio_476": (assessment(pao2_mmhg=Decimal("100"), fio2=Decimal("0.21")), "in force"),
        "low_supar_neutropenia_no_shortage": (
            assessment(supar_ng_ml=Decimal("5.9"), anc_10e9_l=Decimal("1.2"), known_hypersensitivity=True),
            "none",
        ),
        "nothing_optional": (
            assessment(anc_10e9_l=None, creatinine_clearance_ml_min=None, alt_x_uln=None, ast_x_uln=Decimal("3.0")),
            "in force",
        ),
        "renal_regimen": (
            assessment(
                creatinine_clearance_ml_min=Decimal("25.5"),
                regimen=Regimen(dose_mg=Decimal("100"), route="SC", interval_hours=48, duration_days=10),
            ),
            "in force",
        ),
        "renal_daily": (assessment(creatinine_clearance_ml_min=Decimal("20")), "in force"),
        "renal_regimen_without_impairment": (
            assessment(regimen=Regimen(dose_mg=Decimal("100"), route="SC", interval_hours=48, duration_days=10)),
            "in force",
        ),
        "wrong_regimen": (
            assessment(regimen=Regimen(dose_mg=Decimal("200.0"), route="IV", interval_hours=12, duration_days=1)),
            "in force",
        ),
        "wrong_regimen_renal": (
            assessment(
                creatinine_clearance_ml_min=Decimal("10"),
                regimen=Regimen(dose_mg=Decimal("50"), route="SC", interval_hours=24, duration_days=1),
            ),
            "in force",
        ),
        "medicines": (
            assessment(
                concomitant_medications=(
                    medication("tocilizumab", ongoing=True),
                    medication("baricitinib", last_dose_at=days_before(1)),
                    medication("Zyxolumab 100"),
                    medication("Xyzzy", confirmed_not_il_jak=True),
                    medication("adalimumab", last_dose_at=days_before(200)),
                    medication("etanercept", ongoing=True),
                    medication("warfarin", last_dose_at=days_before(40)),
                )
            ),
            "in force",
        ),
        "medicines_outside_windows": (
            assessment(
                concomitant_medications=(
                    medication("tocilizumab", last_dose_at=days_before(100)),
                    medication("adalimumab", last_dose_at=days_before(200)),
                    medication("warfarin", last_dose_at=days_before(40)),
                    medication("Xyzzy", confirmed_not_il_jak=True),
                )
            ),
            "in force",
        ),
        "topical_and_undated": (
            assessment(
                concomitant_medications=(
                    medication("ruxolitinib cream", ongoing=True),
                    medication(atc_code="B01AA03"),
                )
            ),
            "in force",
        ),
        "anakinra_running": (assessment(concomitant_medications=(medication("Kineret", ongoing=True),)), "in force"),
        "pregnant_live_vaccine": (assessment(pregnant_or_breastfeeding=True, live_vaccine=True), "in force"),
        "codes_by_group_and_unrecognised": (
            assessment(
                concomitant_medications=(
                    medication(atc_code="L04AC99", ongoing=True),
                    medication("newinib", atc_code="L04AF99", ongoing=True),
                    medication("Zyxolumab", atc_code="L04AA99", ongoing=True),
                    medication("Xyzzy", atc_code="N02", ongoing=True),
                )
            ),
            "in force",
        ),
    }


if __name__ == "__main__":  # pragma: no cover - how the golden file was written, with the engine of the time
    import json
    from pathlib import Path

    import django

    django.setup()
    from django.utils import translation

    from prescriptions.eligibility import criteria_in_force, evaluate

    from .test_eligibility_engine import SHORTAGE

    golden = {}
    with translation.override("en"):
        for name, (subject, shortages) in cases().items():
            verdict = evaluate(
                subject,
                criteria=criteria_in_force(subject.assessed_at),
                shortages=(SHORTAGE,) if shortages == "in force" else (),
            )
            golden[name] = {result.code: result.message for result in verdict.results}
    path = Path(__file__).parent / "data" / "verdict_messages_en.json"
    path.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
