"""The lists at scale: keyset pages, a bounded count, no JSON in list rows, Rome-day bounds, search, work lists.

Speed itself is measured by ``make bench`` (bench/run.py), never by a timed test; these pin the shapes that
make it fast and the behaviour a user sees.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prescriptions import pagination, selectors
from prescriptions.models import Prescription
from prescriptions.web import views
from tests.prescriptions import factories as f

URL = "/api/v1/prescriptions/"
# The rows, their course records for the alerts (one query a kind), the doses the user may take back, the centres
# whose patients the user may identify, the access-log write for the identities shown (its chains' locks with
# their heads, then one insert: issue 17) and the count of the round's pages.
MAX_DOSES_DUE_QUERIES = 19


@pytest.fixture
def login(demo):
    def make(username: str) -> Client:
        client = Client()
        client.force_login(demo[username])
        client.cookies["django_language"] = "en"
        return client

    return make


def _made(prescriber, count: int, **options) -> list[Prescription]:
    return [f.submit(prescriber, eligible=False, **options) for _ in range(count)]


# --- API pages ---------------------------------------------------------------------------------------


def test_the_next_links_walk_the_whole_list_once_newest_first(client_for, demo, monkeypatch):
    monkeypatch.setattr(pagination.KeysetPagination, "page_size", 3)
    prescriber = demo["prescriber.milano"]
    # Two share their moment: the id breaks the tie, so no row is skipped or repeated at a page boundary.
    same_moment = f.days_ago(2)
    made = _made(prescriber, 2, prescribed_at=same_moment) + [
        f.submit(prescriber, eligible=False, prescribed_at=f.days_ago(n)) for n in (1, 3, 4, 5, 6)
    ]
    client = client_for("officer.lombardia")

    seen, pages, url = [], [], URL
    while url:
        body = client.get(url).json()
        pages.append(body)
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    expected = [str(p.pk) for p in sorted(made, key=lambda p: (p.prescribed_at, p.pk), reverse=True)]
    assert seen == expected
    assert [len(page["results"]) for page in pages] == [3, 3, 1]
    assert all(page["count"] == 7 and page["count_is_estimate"] is False for page in pages)
    assert "cursor=" in pages[0]["next"] and "page=" not in pages[0]["next"]
    assert pages[0]["previous"] is None and pages[-1]["next"] is None


def test_the_previous_link_comes_back_to_the_same_rows(client_for, demo, monkeypatch):
    monkeypatch.setattr(pagination.KeysetPagination, "page_size", 2)
    _made(demo["prescriber.milano"], 5)
    client = client_for("officer.lombardia")
    first = client.get(URL).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    back = client.get(third["previous"]).json()
    back_again = client.get(back["previous"]).json()

    assert back["results"] == second["results"]
    assert back_again["results"] == first["results"]
    assert back_again["previous"] is None


def test_filters_carry_through_the_next_link(client_for, demo, monkeypatch):
    monkeypatch.setattr(pagination.KeysetPagination, "page_size", 2)
    prescriber = demo["prescriber.milano"]
    _made(prescriber, 3)
    f.submit(prescriber)  # awaiting dispensing: filtered out
    client = client_for("officer.lombardia")

    first = client.get(URL + "?status=rejected").json()
    second = client.get(first["next"]).json()

    assert "status=rejected" in first["next"]
    assert len(first["results"]) + len(second["results"]) == 3
    assert {row["status"] for row in first["results"] + second["results"]} == {"rejected"}


@pytest.mark.parametrize("cursor", ["garbage", "eyJhdCI6IDF9", ""])
def test_a_cursor_from_elsewhere_is_a_400_naming_it(client_for, demo, cursor):
    _made(demo["prescriber.milano"], 1)

    response = client_for("officer.lombardia").get(URL, {"cursor": cursor})

    if cursor:
        assert response.status_code == 400
        assert "cursor" in response.json()
    else:
        assert response.status_code == 200


def test_above_the_exact_limit_the_count_says_it_is_an_estimate(client_for, demo, monkeypatch):
    monkeypatch.setattr(pagination, "EXACT_COUNT_UP_TO", 2)
    _made(demo["prescriber.milano"], 4)

    body = client_for("officer.lombardia").get(URL).json()

    # SQLite has no planner estimate: it counts; PostgreSQL gives its estimate, flagged.
    assert body["count_is_estimate"] is (connection.vendor == "postgresql")
    assert body["count"] >= 3


# --- What a list reads ---------------------------------------------------------------------------------


def test_list_rows_leave_the_json_records_unread(demo):
    f.submit(demo["prescriber.milano"])

    row = selectors.prescription_list(user=demo["officer.lombardia"]).get()

    assert {"eligibility", "assessment"} <= row.get_deferred_fields()


def test_the_officers_scope_is_a_join_not_a_subquery_of_centres(demo):
    sql = str(selectors.prescription_list(user=demo["officer.lombardia"]).query).lower()

    assert "registry_centre" in sql and " in (select" not in sql


@pytest.mark.parametrize("descending", [True, False])
def test_a_cursor_seeks_in_the_index_instead_of_reading_every_row_before_it(postgresql, demo, descending):
    """An ``a < x OR (a = x AND id < y)`` condition is only a filter: the database reads the list from its
    start up to the cursor (a second at a million rows). The cursor query must bound ``prescribed_at`` itself,
    so the scan starts at the cursor.

    The administrator's list (no scope) with sorts, sequential and bitmap scans switched off leaves the planner
    an index on ``prescribed_at`` whatever its statistics; the question is whether its scan has a bound (no
    ``OR`` of the old form can give it one)."""
    rows = _made(demo["prescriber.milano"], 3)
    queryset = selectors.prescription_list(user=demo["admin"])
    cursor = pagination._encode(rows[1], "next" if descending else "prev", 2)
    moment, row_id, _, _ = pagination._decode(cursor)
    condition = pagination._after(moment, row_id, descending=descending)
    page = queryset.order_by(*pagination._order(descending)).filter(condition)[:51]

    with postgresql.cursor() as cursor_:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort"):
            cursor_.execute(f"SET LOCAL {setting} = off")
        plan = page.explain()

    assert re.search(r"Index Cond: .*prescribed_at [<>]=", plan), plan


def test_the_date_filter_bounds_the_timestamp_by_rome_days(client_for, demo):
    prescriber = demo["prescriber.milano"]
    day = f.today() - timedelta(days=3)
    late_evening = f.submit(prescriber, eligible=False, prescribed_at=f.rome(day, 23, 59))  # 22:59 or 21:59 UTC
    next_morning = f.submit(prescriber, eligible=False, prescribed_at=f.rome(day + timedelta(days=1), 0, 1))
    officer = demo["officer.lombardia"]

    that_day = selectors.prescription_list(user=officer, filters={"submitted_from": day, "submitted_to": day})

    assert list(that_day) == [late_evening]
    assert list(selectors.prescription_list(user=officer, filters={"submitted_from": day + timedelta(days=1)})) == [
        next_morning
    ]
    sql = str(that_day.query).lower()
    assert "cast_date" not in sql and "::date" not in sql  # the timestamp itself, so its index applies


# --- Search -------------------------------------------------------------------------------------------


def test_search_finds_a_patient_by_fiscal_code_through_the_pseudonym(client_for, demo):
    prescriber = demo["prescriber.milano"]
    code = f.fiscal_code()
    wanted = f.submit(prescriber, code=code, eligible=False)
    f.submit(prescriber, eligible=False)
    client = client_for("officer.lombardia")

    by_code = client.get(URL, {"q": code.lower()}).json()

    assert [row["id"] for row in by_code["results"]] == [str(wanted.pk)]
    assert code not in str(Prescription.objects.values_list("assessment", "eligibility"))


def test_search_never_leaves_the_scope(client_for, demo):
    code = f.fiscal_code()
    f.submit(demo["prescriber.milano"], code=code, eligible=False)

    assert client_for("officer.lazio").get(URL, {"q": code}).json()["results"] == []


def test_search_finds_a_prescription_by_its_number_or_id(client_for, demo):
    prescriber = demo["prescriber.milano"]
    wanted, other = _made(prescriber, 2)
    client = client_for("officer.lombardia")

    for text in (str(wanted.pk)[:8], str(wanted.pk), str(wanted.pk).upper(), str(wanted.pk)[:13]):
        ids = [row["id"] for row in client.get(URL, {"q": text}).json()["results"]]
        assert ids == [str(wanted.pk)], text


@pytest.mark.parametrize("text", ["RSSMRA80A01H501X", "abc", "12345678zz", "not a code at all"])
def test_a_search_that_is_neither_is_a_400_on_q(client_for, demo, text):
    response = client_for("officer.lombardia").get(URL, {"q": text})

    assert response.status_code == 400
    assert "q" in response.json()


def test_the_list_page_searches_and_shows_a_bad_search_next_to_the_box(login, demo):
    prescriber = demo["prescriber.milano"]
    code = f.fiscal_code()
    wanted = f.submit(prescriber, code=code, eligible=False)
    f.submit(prescriber, eligible=False)
    client = login("officer.lombardia")

    found = client.get(reverse("prescriptions:list"), {"q": code}).content.decode()
    bad = client.get(reverse("prescriptions:list"), {"q": "abc"}).content.decode()

    assert re.findall(r'<tr data-id="([^"]+)"', found) == [str(wanted.pk)]
    assert 'name="q"' in found
    assert 'data-field="q"' in bad and 'class="error"' in bad
    assert len(re.findall(r"<tr data-id=", bad)) == 2


# --- Pages ------------------------------------------------------------------------------------------


def test_the_list_page_follows_cursor_links(login, demo, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    _made(demo["prescriber.milano"], 5)
    client = login("officer.lombardia")
    url = reverse("prescriptions:list")

    seen, html, pages = [], client.get(url, {"status": "rejected"}).content.decode(), 0
    while True:
        pages += 1
        seen += re.findall(r'<tr data-id="([^"]+)"', html)
        assert f"Page {pages} of 3" in html
        link = re.search(r'rel="next" href="\?([^"]+)"', html)
        if not link:
            break
        assert "status=rejected" in link.group(1)
        html = client.get(url + "?" + link.group(1).replace("&amp;", "&")).content.decode()

    assert pages == 3 and len(seen) == len(set(seen)) == 5


def test_a_page_past_the_end_shows_the_first(login, demo, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    _made(demo["prescriber.milano"], 3)

    html = login("officer.lombardia").get(reverse("prescriptions:list"), {"page": 9}).content.decode()

    assert "Page 1 of 2" in html


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', html)


def _walk(client, url: str, params: dict) -> list[list[str]]:
    """The rows of every page, following the next links from the first."""
    pages, html = [], client.get(url, params).content.decode()
    while True:
        pages.append(_rows(html))
        link = re.search(r'rel="next" href="\?([^"]+)"', html)
        if not link:
            return pages
        html = client.get(url + "?" + link.group(1).replace("&amp;", "&")).content.decode()


@pytest.mark.parametrize(
    ("name", "username", "params"),
    [
        ("prescriptions:list", "officer.lombardia", {"status": "awaiting_dispensing"}),
        ("prescriptions:dispensing_queue", "pharmacist.milano", {}),
    ],
)
def test_a_deep_page_number_is_sent_to_the_cursor(login, demo, monkeypatch, name, username, params):
    """Issue 17: ``?page=N`` read N pages of rows by OFFSET (0.5 s deep in 200 000). Past the first pages it is
    sent to the cursor that page's next link would carry: the rows before it are counted in the index alone."""
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(pagination, "OFFSET_PAGES_UP_TO", 2)
    prescriber = demo["prescriber.milano"]
    for n in range(1, 8):
        f.submit(prescriber, prescribed_at=f.days_ago(n))
    client = login(username)
    url = reverse(name)
    pages = _walk(client, url, params)
    assert [len(rows) for rows in pages] == [2, 2, 2, 1]

    shallow = client.get(url, {**params, "page": 2})
    reset_queries()  # each request empties the log: read what the context captured before the next one
    with CaptureQueriesContext(connection) as queries:
        deep = client.get(url, {**params, "page": 3})
    with_offset = [query["sql"] for query in queries if "OFFSET" in query["sql"]]

    assert shallow.status_code == 200 and _rows(shallow.content.decode()) == pages[1]
    assert deep.status_code == 302
    location = deep["Location"]
    assert "cursor=" in location and "page=" not in location
    assert all(f"{key}={value}" in location for key, value in params.items())
    landed = client.get(location).content.decode()
    assert _rows(landed) == pages[2]
    assert "Page 3 of 4" in landed
    assert with_offset, "the row before the page is found by its position"
    for sql in with_offset:  # its key only: no other column, none of the patient's or centre's for the rows
        columns = sql.split(" FROM ")[0]
        assert columns.count(",") == 1 and "registry_patient" not in sql, sql


def test_a_deep_page_past_the_end_shows_the_first(login, demo, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(pagination, "OFFSET_PAGES_UP_TO", 2)
    _made(demo["prescriber.milano"], 3)

    response = login("officer.lombardia").get(reverse("prescriptions:list"), {"page": 40})

    assert response.status_code == 200
    assert "Page 1 of 2" in response.content.decode()


def test_the_dispensing_queue_is_paginated_oldest_first(login, demo, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    prescriber = demo["prescriber.milano"]
    waiting = [f.submit(prescriber, prescribed_at=f.days_ago(n)) for n in (3, 1, 2)]
    client = login("pharmacist.milano")
    url = reverse("prescriptions:dispensing_queue")

    first = client.get(url).content.decode()
    link = re.search(r'rel="next" href="\?([^"]+)"', first).group(1)
    second = client.get(url + "?" + link.replace("&amp;", "&")).content.decode()

    oldest_first = [str(p.pk) for p in sorted(waiting, key=lambda p: p.prescribed_at)]
    rows = re.findall(r'<tr data-id="([^"]+)"', first) + re.findall(r'<tr data-id="([^"]+)"', second)
    assert rows == oldest_first
    assert "Page 1 of 2" in first and "Page 2 of 2" in second


def test_the_dispensing_queue_api_is_paginated_oldest_first(client_for, demo, monkeypatch):
    monkeypatch.setattr(pagination.KeysetPagination, "page_size", 2)
    prescriber = demo["prescriber.milano"]
    waiting = [f.submit(prescriber, prescribed_at=f.days_ago(n)) for n in (3, 1, 2)]
    f.submit(prescriber, eligible=False)  # refused: nothing to dispense
    client = client_for("pharmacist.milano")

    first = client.get("/api/v1/dispensing-queue/").json()
    second = client.get(first["next"]).json()

    assert first["count"] == 3
    rows = [row["id"] for row in first["results"] + second["results"]]
    assert rows == [str(p.pk) for p in sorted(waiting, key=lambda p: p.prescribed_at)]
    assert client_for("pharmacist.roma").get("/api/v1/dispensing-queue/").json()["count"] == 0
    assert client_for("nurse.milano").get("/api/v1/dispensing-queue/").status_code == 403


def test_doses_due_asks_who_may_record_once_per_centre(login, demo, django_assert_max_num_queries):
    prescriber = demo["prescriber.milano"]

    def courses(count: int) -> None:
        for _ in range(count):
            prescription = f.submit(prescriber, prescribed_at=f.days_ago(1))
            f.dispense(demo["pharmacist.milano"], prescription)

    client = login("prescriber.milano")
    url = reverse("prescriptions:doses_due")
    courses(2)
    with CaptureQueriesContext(connection) as two:
        client.get(url)
    courses(10)

    # Before: one authorisation check per row (456 queries for a large centre's list).
    with django_assert_max_num_queries(MAX_DOSES_DUE_QUERIES) as twelve:
        html = client.get(url).content.decode()

    assert html.count("Record 100 mg SC now") == 12
    assert two.captured_queries, "the first capture saw the request's queries"
    assert len(twelve.captured_queries) == len(two.captured_queries)


HUGE_PAGES = ["9223372036854775807", "9223372036854775808", "184467440737095516", "9" * 40]


@pytest.mark.parametrize("page", HUGE_PAGES)
@pytest.mark.parametrize(
    ("username", "url"),
    [
        ("officer.lombardia", "/api/v1/prescriptions/"),
        ("pharmacist.milano", "/api/v1/dispensing-queue/"),
        ("officer.lombardia", "/api/v1/reports/"),
        ("officer.lombardia", "/api/v1/quarterly-submissions/"),
    ],
)
def test_a_page_number_past_any_offset_the_database_takes_is_a_404(client_for, demo, username, url, page):
    """Issue 17: ``?page=9223372036854775807`` overflowed PostgreSQL's bigint OFFSET (a 500)."""
    _made(demo["prescriber.milano"], 2)

    response = client_for(username).get(url, {"page": page})

    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize("page", HUGE_PAGES)
@pytest.mark.parametrize("name", ["prescriptions:list", "prescriptions:dispensing_queue"])
def test_a_huge_page_number_on_a_page_shows_the_first(login, demo, name, page):
    made = [f.submit(demo["prescriber.milano"], prescribed_at=f.days_ago(n)) for n in (1, 2)]  # waiting: in both
    username = "pharmacist.milano" if name.endswith("queue") else "prescriber.milano"

    response = login(username).get(reverse(name), {"page": page})

    assert response.status_code == 200
    assert all(str(prescription.pk) in response.content.decode() for prescription in made)
