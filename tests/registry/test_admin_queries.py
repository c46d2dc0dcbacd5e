"""The admin's lists cost the same number of queries whatever their length (issue 17: the centre list ran a query
per centre, for its region and its pharmacy), and the audit trail's list reads no more of the trail than a page.

Speed itself is measured by ``bench/admin_bench.py`` (12 million events), never by a timed test.
"""

from datetime import date, timedelta

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from prescriptions.models import TocilizumabShortage
from registry import services
from registry.audit_actions import AuditAction
from registry.auth.tokens import token_issue
from registry.models import AuditEvent, Centre, Region, Role, StaffProfile
from reports.models import ReportRun


@pytest.fixture
def admin_client(client, demo):
    client.force_login(demo["admin"])
    return client


def _more_centres(demo, count: int) -> None:
    officer = demo["officer.lombardia"]
    lombardia = Region.objects.get(code="030")
    already = Centre.objects.filter(name__startswith="Ospedale di prova").count()
    for index in range(already, already + count):
        pharmacy = services.pharmacy_create(actor=officer, region=lombardia, name=f"Farmacia di prova {index}")
        centre = services.centre_create(
            actor=officer, region=lombardia, name=f"Ospedale di prova {index}", pharmacy=pharmacy
        )
        services.centre_designate(
            actor=officer, centre=centre, valid_from=date(2021, 11, 1), act_reference=f"DGR {index}"
        )
        services.prescriber_authorise(
            actor=officer, prescriber=demo["prescriber.milano"], centre=centre, valid_from=date(2021, 11, 1)
        )


def _more_tokens(demo, count: int) -> None:
    from registry.auth.models import ApiToken

    holders = ApiToken.objects.values_list("user_id", flat=True)
    users = [p.user for p in StaffProfile.objects.exclude(role=Role.ADMINISTRATOR).exclude(user_id__in=holders)]
    assert len(users) >= count
    for user in users[:count]:
        token_issue(user=user)


def _more_report_runs(demo, count: int) -> None:
    used = ReportRun.objects.values_list("region_id", flat=True)
    for region in Region.objects.exclude(code__in=used).order_by("code")[:count]:
        ReportRun.objects.create(
            region=region, period_start="2021-11-01", period_end="2021-11-30", requested_by=demo["officer.lombardia"]
        )


def _more_shortages(demo, count: int) -> None:
    from prescriptions import services as prescription_services

    start = TocilizumabShortage.objects.order_by("-starts_on").values_list("starts_on", flat=True).first()
    start = (start or date(2021, 1, 1)) + timedelta(days=40)
    for index in range(count):
        prescription_services.shortage_record(
            actor=demo["aifa"],
            starts_on=start + timedelta(days=40 * index),
            ends_on=start + timedelta(days=40 * index + 10),
            aifa_reference=f"AIFA {index}",
        )


LISTS = {
    "/admin/registry/centre/": _more_centres,
    "/admin/registry/pharmacy/": _more_centres,
    "/admin/registry/centredesignation/": _more_centres,
    "/admin/registry/prescriberauthorisation/": _more_centres,
    "/admin/registry/apitoken/": _more_tokens,
    "/admin/reports/reportrun/": _more_report_runs,
    "/admin/prescriptions/tocilizumabshortage/": _more_shortages,
}


def _queries(client, url: str) -> list[str]:
    reset_queries()  # each request empties the log: read what the context captured before the next one
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in captured]


@pytest.mark.parametrize("url", list(LISTS))
def test_an_admin_list_costs_the_same_queries_for_three_rows_more(admin_client, demo, url):
    more = LISTS[url]
    more(demo, 1)
    few = _queries(admin_client, url)
    more(demo, 3)

    many = _queries(admin_client, url)

    assert len(many) <= len(few), "\n".join(many)


def test_the_audit_trail_list_counts_no_more_than_a_bounded_number_of_events(admin_client, demo, monkeypatch):
    from registry import admin as registry_admin

    monkeypatch.setattr(registry_admin, "EXACT_COUNT_UP_TO", 5)
    total = AuditEvent.objects.count()
    assert total > 5

    sql = _queries(admin_client, "/admin/registry/auditevent/")
    filtered = _queries(admin_client, f"/admin/registry/auditevent/?action__exact={AuditAction.CENTRE_CREATE}")

    for statements in (sql, filtered):
        counts = [query for query in statements if "COUNT(" in query.upper()]
        assert all("LIMIT" in query.upper() for query in counts), counts  # a bounded count, never the whole trail
        assert not [query for query in statements if "DISTINCT" in query.upper()], statements
        assert not [query for query in statements if "DATE_TRUNC" in query.upper()], statements


def test_the_audit_trail_list_filters_by_action_and_object_type_and_finds_by_id_or_user(admin_client, demo):
    officer = demo["officer.lombardia"]
    centre = services.centre_create(actor=officer, region=Region.objects.get(code="030"), name="Ospedale di Lodi")
    url = "/admin/registry/auditevent/"

    def shown(params: dict) -> set:
        response = admin_client.get(url, params)
        assert response.status_code == 200
        return {(event.action, event.object_type, event.object_id) for event in response.context["cl"].result_list}

    created = (AuditAction.CENTRE_CREATE.value, "registry.centre", str(centre.pk))
    assert created in shown({"action__exact": AuditAction.CENTRE_CREATE})
    assert all(action == AuditAction.CENTRE_CREATE for action, _, _ in shown({"action__exact": "centre.create"}))
    assert shown({"object_type__exact": "registry.centre"}) >= {created}
    assert all(kind == "registry.centre" for _, kind, _ in shown({"object_type__exact": "registry.centre"}))
    assert shown({"q": str(centre.pk)}) >= {created}
    assert created in shown({"q": officer.username})
    assert shown({"q": "no-such-thing"}) == set()
    page = admin_client.get(url).content.decode()
    # Every kind of event is offered, and the object types present in the trail.
    assert f"?action__exact={AuditAction.REPORT_FILE_DOWNLOAD.value}" in page
    assert "?object_type__exact=registry.centre" in page
