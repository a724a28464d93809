"""The cycle report (/audits/cycles/<id>/report/, and as CSV and xlsx): completion and
compliance per department and area, findings by severity and status, overdue corrective
actions; each persona sees only the departments they may see; and a fixed number of queries
whether the cycle covers 2 departments or 200.

Compliance rate = round(100 * (compliant + partly / 2) / applicable answers), "not
applicable" left out (audits.reports.rate).
"""

import csv
import datetime
import io

import openpyxl
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from audits import reports, services
from audits.models import (
    Answer,
    Area,
    AuditorAssignment,
    CorrectiveAction,
    Finding,
    Result,
)
from isms.models import Department

from .audit_helpers import answer_all, inspection, open_cycle, record_finding
from .pages import main_text, page

AREAS = [code for code, _label in Area.choices]
TODAY = timezone.localdate()


@pytest.fixture
def cycle(org, people):
    """総務部 and 教育部; the auditor is assigned to 総務部 only."""
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return cycle


def items_of(cycle, area):
    return list(cycle.checklist.items.filter(area=area).order_by("pk"))


@pytest.fixture
def answered(cycle, org, people):
    """総務部 answers everything and submits: the five "organisation" items are 2 compliant,
    1 partly, 1 not compliant and 1 not applicable (63%), everything else compliant.
    教育部 has answered only the six "assets" items, all not compliant (0%)."""
    somu = answer_all(inspection(cycle, org["somu"]), by=people["head"])
    mix = [
        Result.COMPLIANT,
        Result.COMPLIANT,
        Result.PARTLY,
        Result.NOT_COMPLIANT,
        Result.NOT_APPLICABLE,
    ]
    organisation = items_of(cycle, "organisation")
    assert len(organisation) == len(mix)
    services.save_answers(
        somu,
        {item.pk: (result, "") for item, result in zip(organisation, mix, strict=True)},
        by=people["head"],
    )
    services.submit(somu, by=people["head"])
    kyoiku = inspection(cycle, org["kyoiku"])
    services.save_answers(
        kyoiku,
        {item.pk: (Result.NOT_COMPLIANT, "") for item in items_of(cycle, "assets")},
        by=people["other_head"],
    )
    return cycle


@pytest.fixture
def findings(answered, org, people):
    """総務部: a major open finding with an overdue action, a minor one with an action due
    later. 教育部: a minor finding closed although its action was due last month, and an
    observation left open."""
    cycle, auditor, admin = answered, people["auditor"], people["admin"]
    past, future = TODAY - datetime.timedelta(days=30), TODAY + datetime.timedelta(days=30)

    overdue = record_finding(cycle, org["somu"], by=auditor, title="連絡網が古い", severity="major")
    services.add_corrective_action(
        overdue, by=people["head"], owner=people["chief"], plan="連絡網を更新", due_on=past
    )
    later = record_finding(cycle, org["somu"], by=auditor, title="媒体管理", severity="minor")
    services.add_corrective_action(
        later, by=people["head"], owner=people["chief"], plan="管理番号を付す", due_on=future
    )
    closed = record_finding(cycle, org["kyoiku"], by=admin, title="廃棄記録", severity="minor")
    services.add_corrective_action(
        closed, by=people["other_head"], owner=people["other_head"], plan="記録簿", due_on=past
    )
    services.close_finding(closed, by=admin)
    record_finding(cycle, org["kyoiku"], by=admin, title="研修記録", severity="observation")
    return cycle


def report_url(cycle, output=None):
    return f"/audits/cycles/{cycle.pk}/report/" + (f"?output={output}" if output else "")


def heatmap(response):
    """{department name: (status classes, answered, overall, {area: rate text})}."""
    assert response.status_code == 200
    table = page(response).find("table", testid="heatmap")
    rows = {}
    for tr in table.find("tbody").find_all("tr"):
        heading = tr.find("th")
        if heading is None:  # the "no departments" row
            continue
        badge = heading.find("span")
        name = heading.text.removesuffix(badge.text).strip() if badge else heading.text
        # A rate cell shows a band symbol and word besides its colour; the value is the number.
        cells = [
            td.find(cls="value").text.removesuffix("%") if td.find(cls="value") else td.text
            for td in tr.find_all("td")
        ]
        rows[name] = (
            badge.classes - {"badge"} if badge else set(),
            cells[0],
            cells[1],
            dict(zip(AREAS, cells[2:], strict=True)),
        )
    return rows


def findings_summary(response):
    """{(severity, status): count} as shown."""
    table = page(response).find("table", testid="findings-summary")
    severities, statuses = ["major", "minor", "observation"], ["open", "action_planned", "closed"]
    shown = {}
    for severity, tr in zip(severities, table.find("tbody").find_all("tr"), strict=True):
        for status, td in zip(statuses, tr.find_all("td"), strict=True):
            shown[(severity, status)] = int(td.text)
    return shown


def body(response):
    """The bytes of an export, streamed (as every CSV and xlsx is) or not."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")  # for Excel
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def xlsx_rows(response):
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(body(response)), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


# Completion and compliance ---------------------------------------------------------------


def test_the_report_shows_completion_and_compliance_per_department_and_area(
    findings, as_role, people
):
    rows = heatmap(as_role("ciso").get(report_url(findings)))
    assert list(rows) == ["教育部", "総務部"]  # by sort order, then code

    status, answered, overall, areas = rows["総務部"]
    assert "submitted" in status
    assert answered.replace(" ", "") == "46/46"
    # 2 compliant + 1 partly + 1 not compliant, 1 not applicable: 100 * 2.5 / 4 = 62.5 → 63
    # (rounded half up).
    assert areas["organisation"] == "63"
    assert {areas[a] for a in AREAS if a != "organisation"} == {"100"}
    # 43.5 points over 45 applicable answers.
    assert overall == str(round(100 * 43.5 / 45)) == "97"

    status, answered, overall, areas = rows["教育部"]
    assert "open" in status
    assert answered.replace(" ", "") == "6/46"
    assert (overall, areas["assets"]) == ("0", "0")
    assert {areas[a] for a in AREAS if a != "assets"} == {"—"}


C, P, N, NA = Result.COMPLIANT, Result.PARTLY, Result.NOT_COMPLIANT, Result.NOT_APPLICABLE


@pytest.mark.parametrize(
    "counts, expected",
    [
        ({C: 2, P: 1, N: 1, NA: 1}, 63),  # 62.5
        ({P: 1, N: 3}, 13),  # 12.5
        ({P: 3, N: 1}, 38),  # 37.5
        ({P: 1, N: 7}, 6),  # 6.25
        ({C: 1, N: 2}, 33),  # 33.3
        ({C: 2, N: 1}, 67),  # 66.7
        ({C: 3, NA: 9}, 100),
        ({N: 3}, 0),
        ({NA: 3}, None),
        ({}, None),
    ],
)
def test_the_compliance_rate_counts_partly_as_half_and_rounds_half_up(counts, expected):
    assert reports.rate(counts) == expected


def test_a_department_whose_answers_are_all_not_applicable_has_no_rate(cycle, org, people):
    somu = inspection(cycle, org["somu"])
    services.save_answers(
        somu,
        {item.pk: (Result.NOT_APPLICABLE, "") for item in items_of(cycle, "review")},
        by=people["head"],
    )
    report = reports.build(cycle, people["ciso"])
    row = next(r for r in report.rows if r.department == org["somu"])
    assert row.cells["review"] is None
    assert row.overall is None
    assert row.answered == len(items_of(cycle, "review"))


def test_the_report_counts_findings_by_severity_and_status(findings, as_role):
    shown = findings_summary(as_role("admin").get(report_url(findings)))
    assert {key: n for key, n in shown.items() if n} == {
        ("major", "action_planned"): 1,
        ("minor", "action_planned"): 1,
        ("minor", "closed"): 1,
        ("observation", "open"): 1,
    }


def test_the_report_lists_overdue_corrective_actions_of_findings_still_open(findings, as_role):
    text = main_text(as_role("admin").get(report_url(findings)))
    assert "連絡網が古い" in text  # due last month, finding not closed
    assert "媒体管理" not in text  # due next month
    assert "廃棄記録" not in text  # due last month, but the finding is closed


def test_the_csv_has_the_same_rates_headed_by_the_area_names_in_the_readers_language(
    findings, as_role
):
    rows = csv_rows(as_role("ciso").get(report_url(findings, "csv")))
    with translation.override("ja"):
        area_names = [str(label) for _code, label in Area.choices]
    assert rows[0] == ["部局", "状態", "回答済み", "項目数", "全体（%）", *area_names]
    assert "情報資産の分類と管理" in area_names
    keys = [*rows[0][:5], *AREAS]  # the rates by area code
    by_name = {row[0]: dict(zip(keys, row, strict=True)) for row in rows[1:]}
    assert list(by_name) == ["教育部", "総務部"]
    somu = by_name["総務部"]
    assert (somu["状態"], somu["回答済み"], somu["項目数"], somu["全体（%）"]) == (
        "提出済み",
        "46",
        "46",
        "97",
    )
    assert somu["organisation"] == "63"
    kyoiku = by_name["教育部"]
    assert (kyoiku["状態"], kyoiku["回答済み"], kyoiku["assets"], kyoiku["review"]) == (
        "回答中",
        "6",
        "0",
        "",
    )


def test_the_csv_is_in_english_for_an_english_reader(findings, as_role):
    client = as_role("ciso")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    rows = csv_rows(client.get(report_url(findings, "csv")))
    assert rows[0][:6] == [
        "Department",
        "Status",
        "Answered",
        "Items",
        "Overall (%)",
        "Organisation",
    ]
    assert {row[0]: row[1] for row in rows[1:]} == {
        "教育部": "Being answered",
        "総務部": "Submitted",
    }


def test_the_xlsx_has_the_same_rows_as_the_csv(findings, as_role):
    client = as_role("ciso")
    response = client.get(report_url(findings, "xlsx"))
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = xlsx_rows(response)
    expected = csv_rows(client.get(report_url(findings, "csv")))
    assert [["" if v is None else str(v) for v in row] for row in rows] == expected


# Each persona sees only their departments ------------------------------------------------


@pytest.mark.parametrize(
    "role, departments",
    [
        ("head", ["総務部"]),
        ("chief", ["総務部"]),
        ("other_head", ["教育部"]),
        ("auditor", ["総務部"]),
        ("ciso", ["教育部", "総務部"]),
        ("admin", ["教育部", "総務部"]),
    ],
)
def test_each_persona_sees_only_the_rows_of_departments_they_may_see(
    findings, as_role, role, departments
):
    client = as_role(role)
    assert list(heatmap(client.get(report_url(findings)))) == departments
    assert [row[0] for row in csv_rows(client.get(report_url(findings, "csv")))[1:]] == departments
    assert [row[0] for row in xlsx_rows(client.get(report_url(findings, "xlsx")))[1:]] == (
        departments
    )


def test_the_head_sees_only_their_departments_findings_and_overdue_actions(findings, as_role):
    response = as_role("other_head").get(report_url(findings))
    shown = findings_summary(response)
    assert {key: n for key, n in shown.items() if n} == {
        ("minor", "closed"): 1,
        ("observation", "open"): 1,
    }
    assert "連絡網が古い" not in main_text(response)


def test_staff_get_no_report_in_any_format(findings, as_role):
    client = as_role("staff")
    for output in (None, "csv", "xlsx"):
        assert client.get(report_url(findings, output)).status_code == 403


# A bounded number of queries -------------------------------------------------------------

# 12 to 14 queries: the session and the user, the reader's global roles (and guardian's
# content types until they are cached), the cycle, then the report itself: the departments,
# the checklist and its items per area, the inspections, the answers per department, area and
# result, the findings per severity and status, the overdue actions, and the navigation's
# check for departments. None of them per department.
QUERY_BOUND = 15


def big_cycle(people, size):
    """A cycle over `size` departments of one body, every item answered, each department with
    a finding whose corrective action is overdue; the auditor assigned to all."""
    body = Department.objects.create(code=f"body-{size}", name=f"大きな組織{size}", kind="body")
    departments = Department.objects.bulk_create(
        Department(
            code=f"dept-{size}-{n:03}",
            name=f"第{n}部",
            kind="department",
            parent=body,
            sort_order=n,
        )
        for n in range(size)
    )
    cycle = open_cycle(people, departments, name=f"{size}部署の点検")
    items = list(cycle.checklist.items.order_by("pk"))
    results = list(Result.values)
    admin = people["admin"]
    Answer.objects.bulk_create(
        Answer(
            inspection=inspection,
            item=item,
            result=results[(n + inspection.pk) % len(results)],
            answered_by=admin,
        )
        for inspection in cycle.inspections.all()
        for n, item in enumerate(items)
    )
    found = Finding.objects.bulk_create(
        Finding(
            cycle=cycle,
            department=department,
            area="assets",
            title=f"所見{department.code}",
            severity="minor",
            status="action_planned",
            description="-",
            created_by=admin,
        )
        for department in departments
    )
    CorrectiveAction.objects.bulk_create(
        CorrectiveAction(
            finding=finding,
            owner=people["chief"],
            plan="対策",
            due_on=TODAY - datetime.timedelta(days=1),
            created_by=admin,
        )
        for finding in found
    )
    AuditorAssignment.objects.bulk_create(
        AuditorAssignment(cycle=cycle, department=department, auditor=people["auditor"])
        for department in departments
    )
    return cycle


@pytest.mark.parametrize("output", [None, "csv", "xlsx"])
@pytest.mark.parametrize("role", ["admin", "auditor"])
@pytest.mark.parametrize("size", [2, 200])
def test_the_report_runs_a_bounded_number_of_queries_for_any_number_of_departments(
    people, as_role, django_assert_max_num_queries, size, role, output
):
    cycle = big_cycle(people, size)
    client = as_role(role)
    with django_assert_max_num_queries(QUERY_BOUND):
        response = client.get(report_url(cycle, output))
    assert response.status_code == 200
    if output is None:
        assert len(heatmap(response)) == size
        assert main_text(response).count("所見dept-") == size  # every overdue action
    elif output == "csv":
        assert len(csv_rows(response)) == size + 1


def test_the_report_runs_the_same_queries_for_200_departments_as_for_2(people, as_role):
    small, big = big_cycle(people, 2), big_cycle(people, 200)
    client = as_role("auditor")
    client.get(report_url(small))  # warm the session and the caches alike
    counts = []
    for cycle in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(report_url(cycle)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
