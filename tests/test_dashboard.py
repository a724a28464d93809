"""The dashboard: charts for the CISO's office (the whole city, per department) and for each
department head (their department, per section), each with the same figures as a table.

The world of these tests (see conftest for the personas):
- a notice for all staff, the latest campaign: 情報政策課 has four people (a fourth joins for
  these tests), three of whom acknowledged; nobody else did;
- this fiscal year's course for all staff: both members of staff of 情報政策課 and the one
  of 学校教育課 completed it;
- a self-inspection of 総務部 and 教育部: 総務部 has two open technical findings (one with
  an overdue corrective action) and a closed physical one; 教育部 an open human-security
  finding with an overdue action; the auditor is assigned to 教育部 only;
- the small asset register of conftest (C2 and C1 in 情報政策課, C3 in 総務課, C2 in 学校教育課).
"""

import datetime
import json

import pytest
from django.utils import timezone

from acknowledgements import services as acks
from audits import services as audit_services
from audits.models import CorrectiveAction, Finding, FindingStatus
from isms.eras import fiscal_year
from training.models import Course, Enrolment
from training.services import publish_course

from .audit_helpers import open_cycle, record_finding
from .conftest import ROLES, publish
from .factories import DepartmentFactory, DocumentFactory, UserFactory
from .pages import is_login_redirect, page

URL = "/dashboard/"
DASHBOARD_READERS = {"head", "other_head", "auditor", "ciso", "admin"}
CITYWIDE = {"auditor", "ciso", "admin"}
SOMUBU_UNITS = {"総務部", "情報政策課", "総務課"}
KYOIKUBU_UNITS = {"教育部", "学校教育課"}


@pytest.fixture
def world(people, documents, org, register, monkeypatch):
    joho_2 = UserFactory(username="staff_joho_2", section=org["joho"])

    notice = DocumentFactory(code="notice", title="周知文書", audience="all_staff")
    revision = publish(notice, author=people["admin"], approver=people["ciso"], body="## 周知")
    for who in (people["chief"], people["staff"], joho_2):
        acks.acknowledge(who, revision)

    # Publication queues the announcement after commit; no worker runs it here.
    monkeypatch.setattr("training.services.enqueue", lambda *args: None)
    today = timezone.localdate()
    course = Course.objects.create(
        title="情報セキュリティ研修",
        content="## 目的",
        fiscal_year=fiscal_year(today),
        deadline=today + datetime.timedelta(days=30),
        created_by=people["admin"],
    )
    publish_course(course, by=people["admin"])
    Enrolment.objects.filter(
        course=course, user__in=[people["staff"], joho_2, people["other_staff"]]
    ).update(completed_at=timezone.now())

    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    audit_services.assign_auditor(cycle, org["kyoiku"], people["auditor"], by=people["admin"])
    admin = people["admin"]
    record_finding(cycle, org["somu"], by=admin, area="technical", title="パスワード")
    late = record_finding(cycle, org["somu"], by=admin, area="technical", title="パッチ")
    closed = record_finding(cycle, org["somu"], by=admin, area="physical", title="施錠")
    Finding.objects.filter(pk=closed.pk).update(status=FindingStatus.CLOSED)
    kyoiku = record_finding(cycle, org["kyoiku"], by=admin, area="human", title="研修")
    yesterday = today - datetime.timedelta(days=1)
    for finding, head in ((late, people["head"]), (kyoiku, people["other_head"])):
        CorrectiveAction.objects.create(
            finding=finding, owner=head, plan="対応する", due_on=yesterday, created_by=head
        )
    return {"revision": revision, "course": course}


def table(response, key):
    """{row label: value text} of a chart's table."""
    found = page(response).find("table", testid=f"table-{key}")
    assert found is not None, f"no table for the {key} chart"
    return {
        tr.find("th").text: tr.find("td", testid="value").text
        for tr in found.find("tbody").find_all("tr")
    }


def figures(response, key):
    script = page(response).find("script", id=f"chart-{key}-figures")
    return json.loads(script.text)


# --- who may look ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_heads_and_the_citywide_readers_see_the_dashboard_and_nobody_else(as_role, role, world):
    response = as_role(role).get(URL)
    if role == "anonymous":
        assert is_login_redirect(response, URL)
    elif role in DASHBOARD_READERS:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ["staff", "chief", "head", "other_head", "auditor", "ciso"])
def test_the_navigation_offers_the_dashboard_to_those_who_may_see_it(as_role, role, world):
    hrefs = [a.attrs.get("href") for a in page(as_role(role).get("/")).find("nav").find_all("a")]
    assert (URL in hrefs) == (role in DASHBOARD_READERS)


# --- the figures -------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(CITYWIDE))
def test_the_citywide_readers_see_the_acknowledgement_rate_per_department(as_role, role, world):
    response = as_role(role).get(URL)
    assert table(response, "acknowledgements") == {
        "市長事務部局": "0% (0/1)",
        "総務部": "50% (3/6)",
        "教育部": "0% (0/2)",
        "監査事務局": "0% (0/1)",
    }


def test_a_head_sees_the_acknowledgement_rate_per_section_of_their_department(as_role, world):
    response = as_role("head").get(URL)
    assert page(response).find(testid="dashboard-scope").text == "総務部"
    assert table(response, "acknowledgements") == {
        "総務部": "0% (0/1)",
        "情報政策課": "75% (3/4)",
        "総務課": "0% (0/1)",
    }


def test_the_chart_draws_the_same_figures_as_its_table(as_role, world):
    response = as_role("head").get(URL)
    data = figures(response, "acknowledgements")
    assert data["labels"] == ["総務部", "情報政策課", "総務課"]
    assert data["values"] == [0, 75, 0]
    assert data["texts"] == ["0% (0/1)", "75% (3/4)", "0% (0/1)"]
    assert data["percent"] is True


def test_the_canvas_is_an_image_that_says_what_the_chart_shows(as_role, world):
    response = as_role("head").get(URL)
    canvas = page(response).find("canvas", testid="canvas-acknowledgements")
    assert canvas.attrs["role"] == "img"
    assert "情報政策課：75% (3/4)" in canvas.attrs["aria-label"]
    # The table is the text alternative, in a <details> the script folds once it has drawn.
    section = page(response).find(testid="chart-acknowledgements")
    assert section.find("details").find("table") is not None


def test_the_acknowledgement_chart_names_the_campaign_and_links_to_its_status(as_role, world):
    response = as_role("ciso").get(URL)
    section = page(response).find(testid="chart-acknowledgements")
    assert "周知文書" in section.find(testid="chart-acknowledgements-note").text
    hrefs = [a.attrs["href"] for a in section.find_all("a")]
    assert f"/acknowledgements/status/{world['revision'].pk}/" in hrefs


def test_a_departments_own_procedure_does_not_displace_the_campaign_for_all_staff(
    as_role, world, documents, people
):
    publish(
        documents["procedure"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 手順\n\n改定した手順",
    )
    response = as_role("ciso").get(URL)
    assert "周知文書" in page(response).find(testid="chart-acknowledgements-note").text
    assert table(response, "acknowledgements")["総務部"] == "50% (3/6)"


def test_departments_of_the_same_name_are_told_apart_by_their_body(as_role, world, org):
    water = DepartmentFactory(code="water", name="上下水道局", kind="body", sort_order=4)
    somu = DepartmentFactory(code="water-somu", name="総務部", kind="department", parent=water)
    UserFactory(username="staff_water", section=somu)
    rows = table(as_role("ciso").get(URL), "acknowledgements")
    assert rows["市長事務部局 総務部"] == "50% (3/6)"
    assert rows["上下水道局 総務部"] == "0% (0/1)"
    assert "総務部" not in rows


def test_training_completion_per_department_for_the_city_and_per_section_for_a_head(as_role, world):
    assert table(as_role("ciso").get(URL), "training") == {
        "市長事務部局": "0% (0/1)",
        "総務部": "33% (2/6)",
        "教育部": "50% (1/2)",
        "監査事務局": "0% (0/1)",
    }
    assert table(as_role("head").get(URL), "training") == {
        "総務部": "0% (0/1)",
        "情報政策課": "50% (2/4)",
        "総務課": "0% (0/1)",
    }
    assert table(as_role("other_head").get(URL), "training") == {
        "教育部": "0% (0/1)",
        "学校教育課": "100% (1/1)",
    }


def test_open_findings_by_area_leave_out_the_closed_ones(as_role, world):
    city = table(as_role("ciso").get(URL), "findings")
    assert len(city) == 9  # every countermeasure area, the empty ones at 0
    assert city["技術的セキュリティ"] == "2"
    assert city["人的セキュリティ"] == "1"
    assert city["物理的セキュリティ"] == "0"
    head = table(as_role("head").get(URL), "findings")
    assert (head["技術的セキュリティ"], head["人的セキュリティ"]) == ("2", "0")


def test_overdue_corrective_actions_per_department_for_the_city_and_per_area_for_a_head(
    as_role, world
):
    assert table(as_role("ciso").get(URL), "overdue") == {"総務部": "1", "教育部": "1"}
    assert table(as_role("head").get(URL), "overdue") == {"技術的セキュリティ": "1"}
    assert table(as_role("other_head").get(URL), "overdue") == {"人的セキュリティ": "1"}


def test_an_auditor_counts_only_the_findings_of_the_departments_they_audit(as_role, world):
    response = as_role("auditor").get(URL)
    findings = table(response, "findings")
    assert findings["人的セキュリティ"] == "1"
    assert findings["技術的セキュリティ"] == "0"
    assert table(response, "overdue") == {"教育部": "1"}


def test_the_asset_classification_mix_counts_the_assets_in_scope(as_role, world):
    assert table(as_role("ciso").get(URL), "assets") == {
        "機密性3": "1 (25%)",
        "機密性2": "2 (50%)",
        "機密性1": "1 (25%)",
    }
    assert table(as_role("head").get(URL), "assets") == {
        "機密性3": "1 (33%)",
        "機密性2": "1 (33%)",
        "機密性1": "1 (33%)",
    }
    # 情報政策課's public asset is visible to everyone, but it is not 教育部's.
    assert table(as_role("other_head").get(URL), "assets") == {"機密性2": "1 (100%)"}


def test_another_departments_head_sees_none_of_the_first_departments_figures(as_role, world):
    response = as_role("other_head").get(URL)
    text = response.content.decode()
    for name in SOMUBU_UNITS:
        assert name not in text
    assert page(response).find(testid="dashboard-scope").text == "教育部"
    assert table(response, "acknowledgements") == {"教育部": "0% (0/1)", "学校教育課": "0% (0/1)"}
    for key in ("acknowledgements", "training", "findings", "overdue", "assets"):
        assert not SOMUBU_UNITS & set(figures(response, key)["labels"])


def test_a_head_sees_none_of_another_departments_figures(as_role, world):
    text = as_role("head").get(URL).content.decode()
    for name in KYOIKUBU_UNITS:
        assert name not in text


def test_an_empty_chart_says_so_instead_of_drawing_nothing(as_role, world):
    Finding.objects.filter(department__code="kyoiku").update(status=FindingStatus.CLOSED)
    response = as_role("other_head").get(URL)
    assert page(response).find(testid="chart-findings-empty") is not None
    assert page(response).find("canvas", testid="canvas-findings") is None


def test_the_dashboard_reads_in_english_too(as_role, world):
    client = as_role("ciso")
    client.cookies["django_language"] = "en"
    response = client.get(URL)
    section = page(response).find(testid="chart-findings")
    assert section.find("h2").text == "Open findings by area"
    assert "Technical security" in table(response, "findings")


# --- bounded queries ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["ciso", "head"])
def test_the_dashboard_takes_as_many_queries_for_many_people_as_for_few(
    as_role, role, world, org, people, make_asset, django_assert_max_num_queries
):
    client = as_role(role)
    client.get(URL)  # the session and the caches of the first request
    with django_assert_max_num_queries(20) as few:
        client.get(URL)
    for n in range(40):
        who = UserFactory(username=f"many_{n}", section=org["somuka" if n % 2 else "gakko"])
        acks.acknowledge(who, world["revision"])
        make_asset("somuka", c="2", name=f"資産{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert response.status_code == 200
