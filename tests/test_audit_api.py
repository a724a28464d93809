"""The audit cycle through the API, with the rules of the pages: cycles, checklist items,
inspections (submit, return), answers (upserted, locked once submitted), findings (recorded by
the assigned auditor, locked once closed, reopened with a reason), corrective actions from the
department, and evidence that stays inside its department and audit. Bad input is a 400 with
reasons, never a 500.

The cycle of this file covers 総務部 and 教育部 with the auditor assigned to 総務部 only; a
second cycle covers both with no auditor assigned.
"""

import datetime
import hashlib

import pytest

from audits import services
from audits.models import (
    Answer,
    AuditorAssignment,
    ChecklistItem,
    ChecklistVersion,
    CorrectiveAction,
    Cycle,
    Evidence,
    Finding,
    FindingStatus,
    Inspection,
    Result,
    SubmissionStatus,
)

from .audit_helpers import PDF, answer_all, answers, inspection, open_cycle, record_finding, upload
from .conftest import ROLES

SIGNED_IN = [role for role in ROLES if role != "anonymous"]
UNAUTHENTICATED = (401, 403)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def cycle(org, people):
    """総務部 and 教育部; the auditor is assigned to 総務部 only."""
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return cycle


@pytest.fixture
def other_cycle(org, people):
    """The same departments in a second cycle, where the auditor is not assigned."""
    return open_cycle(people, [org["somu"], org["kyoiku"]], name="令和7年度 臨時点検")


@pytest.fixture
def somu(cycle, org):
    return inspection(cycle, org["somu"])


@pytest.fixture
def kyoiku(cycle, org):
    return inspection(cycle, org["kyoiku"])


@pytest.fixture
def finding(cycle, org, people):
    """総務部's finding, recorded by the assigned auditor."""
    return record_finding(cycle, org["somu"], by=people["auditor"])


@pytest.fixture
def kyoiku_finding(cycle, org, people):
    return record_finding(cycle, org["kyoiku"], by=people["admin"], title="教育部の所見")


@pytest.fixture
def other_finding(other_cycle, org, people):
    """総務部's finding in the second cycle."""
    return record_finding(other_cycle, org["somu"], by=people["admin"], title="臨時点検の所見")


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def first_item(cycle):
    return cycle.checklist.items.order_by("pk").first()


# Cycles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, expected",
    [
        ("staff", set()),
        ("chief", {"cycle", "other_cycle"}),
        ("head", {"cycle", "other_cycle"}),
        ("other_head", {"cycle", "other_cycle"}),
        ("auditor", {"cycle"}),
        ("ciso", {"cycle", "other_cycle"}),
        ("admin", {"cycle", "other_cycle"}),
    ],
)
def test_each_persona_lists_the_cycles_they_take_part_in(
    api_as, cycle, other_cycle, role, expected
):
    cycles = {"cycle": cycle.pk, "other_cycle": other_cycle.pk}
    assert ids(api_as(role).get("/api/audit-cycles/")) == {cycles[key] for key in expected}


def test_anonymous_callers_get_nothing_from_any_audit_endpoint(api_as, cycle, somu, finding):
    client = api_as("anonymous")
    for url in [
        "/api/audit-cycles/",
        f"/api/audit-cycles/{cycle.pk}/",
        "/api/checklist-items/",
        "/api/inspections/",
        f"/api/inspections/{somu.pk}/",
        "/api/answers/",
        "/api/findings/",
        f"/api/findings/{finding.pk}/",
        f"/api/findings/{finding.pk}/corrective-actions/",
    ]:
        assert client.get(url).status_code in UNAUTHENTICATED, url


@pytest.mark.parametrize("role, status", [("auditor", 404), ("staff", 404), ("head", 200)])
def test_a_cycle_is_retrieved_only_by_those_who_take_part(api_as, other_cycle, role, status):
    assert api_as(role).get(f"/api/audit-cycles/{other_cycle.pk}/").status_code == status


def new_cycle(**changes):
    data = {
        "name": "令和7年度 情報セキュリティ監査",
        "kind": "audit",
        "fiscal_year": 2025,
        "checklist": ChecklistVersion.objects.get().pk,
        "departments": ["somu", "kyoiku"],
        "starts_on": "2025-09-01",
        "due_on": "2025-11-30",
    }
    data.update(changes)
    return data


# Auditors open cycles as well as the CISO's office (audits.access.runs_cycles).
@pytest.mark.parametrize("role", ["ciso", "admin", "auditor"])
def test_the_cisos_office_and_auditors_open_a_cycle_with_one_inspection_per_department(
    api_as, cycle, role
):
    response = api_as(role).post("/api/audit-cycles/", new_cycle(), format="json")
    assert response.status_code == 201, response.content
    created = Cycle.objects.get(pk=response.json()["id"])
    assert sorted(response.json()["departments"]) == ["kyoiku", "somu"]
    assert sorted(created.inspections.values_list("department__code", flat=True)) == [
        "kyoiku",
        "somu",
    ]


@pytest.mark.parametrize("role", ["staff", "chief", "head", "other_head"])
def test_nobody_else_opens_a_cycle(api_as, cycle, role):
    response = api_as(role).post("/api/audit-cycles/", new_cycle(), format="json")
    assert response.status_code == 403
    assert Cycle.objects.count() == 1


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"departments": ["no-such-unit"]}, "departments"),
        ({"kind": "inquisition"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": "名" * 201}, "name"),
        ({"fiscal_year": -1}, "fiscal_year"),
        ({"fiscal_year": 10**12}, "fiscal_year"),
        ({"checklist": 999999}, "checklist"),
        ({"starts_on": "令和7年9月1日"}, "starts_on"),
        ({"due_on": "2025-08-31"}, None),  # due before the start
    ],
)
def test_a_bad_cycle_is_refused_with_reasons(api_as, cycle, changes, field):
    response = api_as("admin").post("/api/audit-cycles/", new_cycle(**changes), format="json")
    assert response.status_code == 400, response.content
    if field:
        assert field in response.json()
    else:
        assert response.json()
    assert Cycle.objects.count() == 1


def test_the_admin_assigns_the_auditor_to_a_department_of_the_cycle(api_as, cycle, people):
    response = api_as("admin").post(
        f"/api/audit-cycles/{cycle.pk}/assign/",
        {"department": "kyoiku", "auditor": "auditor"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert AuditorAssignment.objects.filter(
        cycle=cycle, department__code="kyoiku", auditor=people["auditor"]
    ).exists()
    # Now the auditor sees 教育部's checklist as well.
    kyoiku = inspection(cycle, cycle.departments.get(code="kyoiku"))
    assert api_as("auditor").get(f"/api/inspections/{kyoiku.pk}/").status_code == 200


def test_assigning_the_auditor_to_their_own_body_is_refused_with_a_reason(api_as, org, people):
    kansa_cycle = open_cycle(people, [org["somu"], org["kansa_body"]])
    response = api_as("admin").post(
        f"/api/audit-cycles/{kansa_cycle.pk}/assign/",
        {"department": "kansa", "auditor": "auditor"},
        format="json",
    )
    assert response.status_code == 400
    assert org["kansa_body"].name in response.json()["auditor"][0]
    assert not AuditorAssignment.objects.filter(cycle=kansa_cycle).exists()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"department": "gakko", "auditor": "auditor"}, "department"),  # not in the cycle
        ({"department": "nowhere", "auditor": "auditor"}, "department"),
        ({"department": "kyoiku", "auditor": "staff_joho"}, "auditor"),  # not an auditor
        ({"department": "kyoiku", "auditor": "nobody"}, "auditor"),
        ({}, "department"),
    ],
)
def test_a_bad_assignment_is_refused_with_reasons(api_as, cycle, payload, field):
    response = api_as("admin").post(f"/api/audit-cycles/{cycle.pk}/assign/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert AuditorAssignment.objects.filter(cycle=cycle).count() == 1


@pytest.mark.parametrize("role, status", [("head", 403), ("staff", 403), ("other_head", 403)])
def test_people_who_do_not_run_cycles_cannot_assign_auditors(api_as, cycle, role, status):
    response = api_as(role).post(
        f"/api/audit-cycles/{cycle.pk}/assign/",
        {"department": "kyoiku", "auditor": "auditor"},
        format="json",
    )
    assert response.status_code == status
    assert AuditorAssignment.objects.filter(cycle=cycle).count() == 1


# Checklist items -------------------------------------------------------------------------


@pytest.mark.parametrize("role", SIGNED_IN)
def test_the_checklist_is_listed_to_those_who_use_audits_and_empty_for_staff(api_as, cycle, role):
    response = api_as(role).get("/api/checklist-items/", {"page_size": 100})
    assert response.status_code == 200
    expected = 0 if role == "staff" else ChecklistItem.objects.count()
    assert response.json()["count"] == expected


def test_checklist_items_filter_by_area(api_as, cycle):
    response = api_as("head").get("/api/checklist-items/", {"area": "organisation"})
    assert {row["area"] for row in response.json()["results"]} == {"organisation"}
    assert response.json()["count"] == 5


# Inspections -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, expected",
    [
        ("staff", set()),
        ("chief", {("cycle", "somu"), ("other_cycle", "somu")}),
        ("head", {("cycle", "somu"), ("other_cycle", "somu")}),
        ("other_head", {("cycle", "kyoiku"), ("other_cycle", "kyoiku")}),
        ("auditor", {("cycle", "somu")}),
        (
            "ciso",
            {
                ("cycle", "somu"),
                ("cycle", "kyoiku"),
                ("other_cycle", "somu"),
                ("other_cycle", "kyoiku"),
            },
        ),
    ],
)
def test_each_persona_lists_only_the_inspections_they_may_see(
    api_as, cycle, other_cycle, role, expected
):
    names = {cycle.pk: "cycle", other_cycle.pk: "other_cycle"}
    response = api_as(role).get("/api/inspections/")
    assert response.status_code == 200
    assert {(names[r["cycle"]], r["department"]) for r in response.json()["results"]} == expected


@pytest.mark.parametrize("role", ["other_head", "staff"])
def test_another_departments_inspection_is_not_found_even_by_id(api_as, somu, role):
    assert api_as(role).get(f"/api/inspections/{somu.pk}/").status_code == 404


def test_submitting_with_items_unanswered_is_refused_with_the_count(api_as, somu, people):
    services.save_answers(
        somu, {first_item(somu.cycle).pk: (Result.COMPLIANT, "")}, by=people["head"]
    )
    response = api_as("head").post(f"/api/inspections/{somu.pk}/submit/")
    assert response.status_code == 400
    missing = somu.cycle.checklist.items.count() - 1
    assert str(missing) in response.json()["detail"][0]
    somu.refresh_from_db()
    assert somu.status == SubmissionStatus.OPEN


def test_the_department_submits_its_answers(api_as, somu, people):
    answer_all(somu, by=people["head"])
    response = api_as("chief").post(f"/api/inspections/{somu.pk}/submit/")
    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    assert response.json()["answered"] == somu.cycle.checklist.items.count()
    somu.refresh_from_db()
    assert somu.status == SubmissionStatus.SUBMITTED
    assert somu.submitted_by == people["chief"]


@pytest.mark.parametrize("role, status", [("auditor", 403), ("ciso", 403), ("other_head", 404)])
def test_only_the_department_submits(api_as, somu, people, role, status):
    answer_all(somu, by=people["head"])
    assert api_as(role).post(f"/api/inspections/{somu.pk}/submit/").status_code == status
    somu.refresh_from_db()
    assert somu.status == SubmissionStatus.OPEN


@pytest.fixture
def submitted(somu, people):
    answer_all(somu, by=people["head"], comment="確認済")
    return services.submit(somu, by=people["head"])


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_the_auditor_or_the_admin_returns_submitted_answers_with_a_reason(api_as, submitted, role):
    response = api_as(role).post(
        f"/api/inspections/{submitted.pk}/return/", {"reason": "根拠を添付"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "returned"
    assert response.json()["returned_reason"] == "根拠を添付"
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.RETURNED


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": "   "}])
def test_returning_without_a_reason_is_refused(api_as, submitted, payload):
    response = api_as("auditor").post(
        f"/api/inspections/{submitted.pk}/return/", payload, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED


@pytest.mark.parametrize("role, status", [("head", 403), ("chief", 403), ("other_head", 404)])
def test_the_department_cannot_return_its_own_answers(api_as, submitted, role, status):
    response = api_as(role).post(
        f"/api/inspections/{submitted.pk}/return/", {"reason": "自分で"}, format="json"
    )
    assert response.status_code == status
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED


def test_answers_still_open_cannot_be_returned(api_as, somu):
    response = api_as("auditor").post(
        f"/api/inspections/{somu.pk}/return/", {"reason": "早すぎる"}, format="json"
    )
    assert response.status_code == 400
    somu.refresh_from_db()
    assert somu.status == SubmissionStatus.OPEN


# Answers ---------------------------------------------------------------------------------


def post_answer(client, inspection, item, result, comment=""):
    return client.post(
        "/api/answers/",
        {"inspection": inspection.pk, "item": item.pk, "result": result, "comment": comment},
        format="json",
    )


def test_posting_an_answer_twice_updates_the_one_answer(api_as, somu, people):
    item = first_item(somu.cycle)
    response = post_answer(api_as("head"), somu, item, "partly", "一部のみ")
    assert response.status_code == 201, response.content
    assert response.json()["answered_by"] == "head_somu"
    response = post_answer(api_as("chief"), somu, item, "compliant", "対応済")
    assert response.status_code == 201
    assert response.json()["result"] == "compliant"
    assert answers(somu) == {item.pk: ("compliant", "対応済")}
    assert Answer.objects.get(inspection=somu).answered_by == people["chief"]


def test_an_answer_to_a_submitted_inspection_is_refused_and_nothing_changes(api_as, submitted):
    before = answers(submitted)
    response = post_answer(api_as("head"), submitted, first_item(submitted.cycle), "not_compliant")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert answers(submitted) == before


def test_answers_can_be_changed_again_once_returned(api_as, submitted, people):
    services.return_for_correction(submitted, by=people["auditor"], reason="再確認")
    item = first_item(submitted.cycle)
    response = post_answer(api_as("head"), submitted, item, "not_compliant", "未対応")
    assert response.status_code == 201
    assert answers(submitted)[item.pk] == ("not_compliant", "未対応")


# An inspection the caller may not see is refused like an id that does not exist (400 on
# the field), never told apart from one (tests/test_oracles.py).
@pytest.mark.parametrize(
    "role, status", [("other_head", 400), ("staff", 400), ("auditor", 403), ("admin", 403)]
)
def test_people_outside_the_department_cannot_answer_its_self_inspection(
    api_as, somu, role, status
):
    response = post_answer(api_as(role), somu, first_item(somu.cycle), "not_compliant")
    assert response.status_code == status
    assert answers(somu) == {}


def test_answers_are_listed_only_to_those_who_see_the_inspection(api_as, somu, kyoiku, people):
    answer_all(somu, by=people["head"])
    answer_all(kyoiku, by=people["other_head"])
    somu_ids = set(somu.answers.values_list("pk", flat=True))
    kyoiku_ids = set(kyoiku.answers.values_list("pk", flat=True))

    def every_id(client):
        found, url = set(), "/api/answers/"
        while url:
            response = client.get(url)
            assert response.status_code == 200
            found |= {row["id"] for row in response.json()["results"]}
            url = response.json()["next"]
        return found

    assert every_id(api_as("head")) == somu_ids
    assert every_id(api_as("other_head")) == kyoiku_ids
    assert every_id(api_as("auditor")) == somu_ids
    assert every_id(api_as("staff")) == set()
    some_kyoiku_answer = min(kyoiku_ids)
    assert api_as("head").get(f"/api/answers/{some_kyoiku_answer}/").status_code == 404


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"result": "maybe"}, "result"),
        ({"result": None}, "result"),
        ({"item": 10**9}, "item"),
        ({"item": "first"}, "item"),
        ({"inspection": 10**9}, "inspection"),
        ({"inspection": 10**30}, "inspection"),
    ],
)
def test_a_bad_answer_is_refused_with_reasons(api_as, somu, payload, field):
    data = {"inspection": somu.pk, "item": first_item(somu.cycle).pk, "result": "compliant"}
    data.update(payload)
    response = api_as("head").post("/api/answers/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert answers(somu) == {}


def test_an_item_of_another_checklist_is_refused(api_as, somu):
    other = ChecklistVersion.objects.create(name="別のチェックリスト", version=2)
    item = ChecklistItem.objects.create(
        checklist=other, area="organisation", number="X-1", text="別項目", policy_reference="-"
    )
    response = post_answer(api_as("head"), somu, item, "compliant")
    assert response.status_code == 400
    assert "item" in response.json()
    assert answers(somu) == {}


def test_the_auditor_turns_a_not_compliant_answer_into_a_finding(api_as, somu, people):
    item = first_item(somu.cycle)
    services.save_answers(somu, {item.pk: (Result.NOT_COMPLIANT, "未整備")}, by=people["head"])
    answer = somu.answers.get()
    response = api_as("head").post(
        f"/api/answers/{answer.pk}/finding/", {"severity": "minor"}, format="json"
    )
    assert response.status_code == 403
    response = api_as("auditor").post(
        f"/api/answers/{answer.pk}/finding/", {"severity": "minor"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["source_answer"] == answer.pk
    assert response.json()["department"] == "somu"
    response = api_as("auditor").post(
        f"/api/answers/{answer.pk}/finding/", {"severity": "minor"}, format="json"
    )
    assert response.status_code == 400
    assert Finding.objects.count() == 1


# Findings --------------------------------------------------------------------------------


def new_finding(cycle, /, **changes):
    data = {
        "cycle": cycle.pk,
        "department": "somu",
        "area": "assets",
        "title": "外部記録媒体の管理番号がない",
        "severity": "major",
        "description": "USBメモリに管理番号が付されていない。",
    }
    data.update(changes)
    return data


def test_the_assigned_auditor_records_a_finding(api_as, cycle, people):
    response = api_as("auditor").post("/api/findings/", new_finding(cycle), format="json")
    assert response.status_code == 201, response.content
    finding = Finding.objects.get(pk=response.json()["id"])
    assert (finding.department.code, finding.created_by) == ("somu", people["auditor"])
    assert response.json()["status"] == "open"


@pytest.mark.parametrize(
    "role, department",
    [
        ("head", "somu"),
        ("chief", "somu"),
        ("other_head", "kyoiku"),
        ("auditor", "kyoiku"),  # not assigned to 教育部
        ("staff", "somu"),
    ],
)
def test_nobody_but_the_assigned_auditor_records_a_finding(api_as, cycle, role, department):
    response = api_as(role).post(
        "/api/findings/", new_finding(cycle, department=department), format="json"
    )
    assert response.status_code == 403
    assert not Finding.objects.exists()


def test_the_auditor_records_no_finding_in_a_cycle_they_are_not_assigned_in(api_as, other_cycle):
    response = api_as("auditor").post("/api/findings/", new_finding(other_cycle), format="json")
    # A cycle the auditor may not see answers like an unknown cycle id.
    assert response.status_code == 400
    assert "cycle" in response.json()
    assert not Finding.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"title": ""}, "title"),
        ({"severity": "catastrophic"}, "severity"),
        ({"area": "astrology"}, "area"),
        ({"department": "nowhere"}, "department"),
        ({"cycle": 10**9}, "cycle"),
        ({"description": ""}, "description"),
        ({"department": "board"}, "department"),  # a unit outside the cycle's scope
    ],
)
def test_a_bad_finding_is_refused_with_reasons(api_as, cycle, changes, field):
    response = api_as("admin").post("/api/findings/", new_finding(cycle, **changes), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Finding.objects.exists()


def test_a_finding_cannot_cite_an_item_of_another_checklist(api_as, cycle):
    other = ChecklistVersion.objects.create(name="別のチェックリスト", version=2)
    item = ChecklistItem.objects.create(
        checklist=other, area="assets", number="X-1", text="別項目", policy_reference="-"
    )
    response = api_as("auditor").post(
        "/api/findings/", new_finding(cycle, item=item.pk), format="json"
    )
    assert response.status_code == 400, response.content
    assert "item" in response.json()
    assert not Finding.objects.exists()


@pytest.mark.parametrize(
    "role, expected",
    [
        ("staff", set()),
        ("chief", {"finding", "other_finding"}),
        ("head", {"finding", "other_finding"}),
        ("other_head", {"kyoiku_finding"}),
        ("auditor", {"finding"}),
        ("ciso", {"finding", "kyoiku_finding", "other_finding"}),
        ("admin", {"finding", "kyoiku_finding", "other_finding"}),
    ],
)
def test_each_persona_lists_only_the_findings_they_may_see(
    api_as, finding, kyoiku_finding, other_finding, role, expected
):
    findings = {
        "finding": finding,
        "kyoiku_finding": kyoiku_finding,
        "other_finding": other_finding,
    }
    assert ids(api_as(role).get("/api/findings/")) == {findings[k].pk for k in expected}


@pytest.mark.parametrize("role", ["other_head", "staff"])
def test_another_departments_finding_is_not_found_even_by_id(api_as, finding, role):
    client = api_as(role)
    assert client.get(f"/api/findings/{finding.pk}/").status_code == 404
    assert client.get(f"/api/findings/{finding.pk}/corrective-actions/").status_code == 404


def test_the_auditor_does_not_see_findings_of_a_cycle_they_are_not_assigned_in(
    api_as, other_finding
):
    assert api_as("auditor").get(f"/api/findings/{other_finding.pk}/").status_code == 404


def test_the_auditor_edits_an_open_finding(api_as, finding):
    response = api_as("auditor").patch(
        f"/api/findings/{finding.pk}/",
        {"severity": "major", "needs_policy_review": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    finding.refresh_from_db()
    assert (finding.severity, finding.needs_policy_review) == ("major", True)


@pytest.mark.parametrize("role, status", [("head", 403), ("chief", 403), ("other_head", 404)])
def test_the_department_cannot_edit_its_finding(api_as, finding, role, status):
    response = api_as(role).patch(
        f"/api/findings/{finding.pk}/", {"severity": "observation"}, format="json"
    )
    assert response.status_code == status
    finding.refresh_from_db()
    assert finding.severity == "minor"


def plan_action(client, finding, **changes):
    data = {"owner": "chief_joho", "plan": "持出し簿を整備する", "due_on": "2025-12-26"}
    data.update(changes)
    return client.post(f"/api/findings/{finding.pk}/corrective-actions/", data, format="json")


@pytest.mark.parametrize("role", ["head", "chief"])
def test_the_department_records_a_corrective_action(api_as, finding, people, role):
    response = plan_action(api_as(role), finding)
    assert response.status_code == 201, response.content
    assert response.json()["owner"] == "chief_joho"
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACTION_PLANNED
    listed = api_as("auditor").get(f"/api/findings/{finding.pk}/corrective-actions/")
    assert listed.status_code == 200
    assert [row["plan"] for row in listed.json()] == ["持出し簿を整備する"]


@pytest.mark.parametrize(
    "role, status", [("auditor", 403), ("admin", 403), ("other_head", 404), ("staff", 404)]
)
def test_nobody_outside_the_department_records_its_corrective_action(api_as, finding, role, status):
    assert plan_action(api_as(role), finding).status_code == status
    assert not CorrectiveAction.objects.exists()


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"owner": "nobody"}, "owner"),
        ({"plan": "   "}, "plan"),
        ({"due_on": "来月"}, "due_on"),
        ({"due_on": None}, "due_on"),
    ],
)
def test_a_bad_corrective_action_is_refused_with_reasons(api_as, finding, changes, field):
    response = plan_action(api_as("head"), finding, **changes)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not CorrectiveAction.objects.exists()


def test_a_finding_is_closed_only_once_a_corrective_action_is_recorded(api_as, finding):
    response = api_as("auditor").post(f"/api/findings/{finding.pk}/close/")
    assert response.status_code == 400
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN

    plan_action(api_as("head"), finding)
    assert api_as("head").post(f"/api/findings/{finding.pk}/close/").status_code == 403
    response = api_as("auditor").post(f"/api/findings/{finding.pk}/close/")
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    assert response.json()["closed_at"]


@pytest.fixture
def closed(finding, people):
    services.add_corrective_action(
        finding,
        by=people["head"],
        owner=people["chief"],
        plan="持出し簿を整備する",
        due_on=datetime.date(2025, 12, 26),
    )
    return services.close_finding(finding, by=people["auditor"])


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_closed_finding_cannot_be_edited(api_as, closed, method):
    data = new_finding(closed.cycle, title="書き換え")
    response = getattr(api_as("auditor"), method)(
        f"/api/findings/{closed.pk}/", data, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    closed.refresh_from_db()
    assert closed.title == "持出し記録の不備"
    assert closed.status == FindingStatus.CLOSED


def test_a_closed_finding_takes_no_new_corrective_action(api_as, closed):
    assert plan_action(api_as("head"), closed, plan="追加").status_code == 400
    assert CorrectiveAction.objects.filter(finding=closed).count() == 1


@pytest.mark.parametrize("payload", [{}, {"reason": ""}, {"reason": " "}])
def test_reopening_needs_a_reason(api_as, closed, payload):
    response = api_as("auditor").post(f"/api/findings/{closed.pk}/reopen/", payload, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    closed.refresh_from_db()
    assert closed.status == FindingStatus.CLOSED


@pytest.mark.parametrize("role, status", [("head", 403), ("other_head", 404), ("staff", 404)])
def test_only_the_auditor_reopens_a_finding(api_as, closed, role, status):
    response = api_as(role).post(
        f"/api/findings/{closed.pk}/reopen/", {"reason": "再発"}, format="json"
    )
    assert response.status_code == status
    closed.refresh_from_db()
    assert closed.status == FindingStatus.CLOSED


def test_a_reopened_finding_can_be_edited_again(api_as, closed):
    response = api_as("auditor").post(
        f"/api/findings/{closed.pk}/reopen/", {"reason": "再発"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["closed_at"]) == ("open", None)
    response = api_as("auditor").patch(
        f"/api/findings/{closed.pk}/", {"title": "持出し簿の未使用"}, format="json"
    )
    assert response.status_code == 200
    closed.refresh_from_db()
    assert closed.title == "持出し簿の未使用"


def test_an_open_finding_cannot_be_reopened(api_as, finding):
    response = api_as("auditor").post(
        f"/api/findings/{finding.pk}/reopen/", {"reason": "念のため"}, format="json"
    )
    assert response.status_code == 400


# Evidence --------------------------------------------------------------------------------


def attach(client, finding, file):
    return client.post(f"/api/findings/{finding.pk}/evidence/", {"file": file}, format="multipart")


@pytest.mark.parametrize("role", ["head", "chief", "auditor"])
def test_the_department_and_its_auditor_attach_evidence_with_its_sha256(
    api_as, finding, people, role
):
    response = attach(api_as(role), finding, upload("持出し簿.pdf"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (body["original_name"], body["size"], body["content_type"]) == (
        "持出し簿.pdf",
        len(PDF),
        "application/pdf",
    )
    assert Evidence.objects.get().uploaded_by == people[role]


@pytest.mark.parametrize("role, status", [("other_head", 404), ("staff", 404)])
def test_nobody_outside_the_department_attaches_evidence(api_as, finding, role, status):
    assert attach(api_as(role), finding, upload()).status_code == status
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    "name, content",
    [
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("fake.pdf", b"plain text pretending to be a PDF"),
        ("image.jpg", PDF),
        ("README", PDF),
    ],
)
def test_evidence_of_a_refused_type_or_content_is_a_400(api_as, finding, media, name, content):
    response = attach(api_as("head"), finding, upload(name, content))
    assert response.status_code == 400
    assert response.json()["file"]
    assert not Evidence.objects.exists()
    assert not (media / "evidence").exists()


def test_evidence_without_a_file_is_a_400(api_as, finding):
    response = api_as("head").post(
        f"/api/findings/{finding.pk}/evidence/", {"note": "no file"}, format="multipart"
    )
    assert response.status_code == 400
    assert "file" in response.json()


def test_evidence_over_the_size_limit_is_a_400(api_as, finding, settings):
    settings.EVIDENCE_MAX_BYTES = 50
    response = attach(api_as("head"), finding, upload("big.pdf", PDF + b"0" * 51))
    assert response.status_code == 400
    assert response.json()["file"]
    assert not Evidence.objects.exists()


@pytest.fixture
def evidence(finding, people):
    return services.attach_evidence(upload(), by=people["head"], finding=finding)


@pytest.mark.parametrize(
    "role, status",
    [
        ("staff", 404),
        ("chief", 200),
        ("head", 200),
        ("other_head", 404),
        ("auditor", 200),
        ("ciso", 200),
        ("admin", 200),
    ],
)
def test_evidence_is_read_only_inside_its_department_and_audit(api_as, evidence, role, status):
    client = api_as(role)
    response = client.get(f"/api/evidence/{evidence.pk}/")
    assert response.status_code == status
    if status == 200:
        assert response.json()["sha256"] == evidence.sha256
    response = client.get(f"/api/evidence/{evidence.pk}/download/")
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == PDF


@pytest.mark.parametrize("path", ["/api/evidence/{pk}/", "/api/evidence/{pk}/download/"])
def test_evidence_another_department_may_not_read_answers_as_evidence_that_does_not_exist(
    api_as, evidence, path
):
    client = api_as("other_head")
    hidden = client.get(path.format(pk=evidence.pk))
    missing = client.get(path.format(pk=evidence.pk + 10_000))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_evidence_of_a_cycle_the_auditor_is_not_assigned_in_is_not_found(
    api_as, other_finding, people
):
    evidence = services.attach_evidence(upload(), by=people["admin"], finding=other_finding)
    assert api_as("auditor").get(f"/api/evidence/{evidence.pk}/").status_code == 404
    assert api_as("auditor").get(f"/api/evidence/{evidence.pk}/download/").status_code == 404
    assert api_as("head").get(f"/api/evidence/{evidence.pk}/download/").status_code == 200


def test_evidence_of_an_answer_stays_with_the_inspection(api_as, somu, people):
    answer_all(somu, by=people["head"])
    answer = somu.answers.order_by("pk").first()
    evidence = services.attach_evidence(upload(), by=people["head"], answer=answer)
    assert api_as("head").get(f"/api/evidence/{evidence.pk}/download/").status_code == 200
    assert api_as("auditor").get(f"/api/evidence/{evidence.pk}/download/").status_code == 200
    assert api_as("other_head").get(f"/api/evidence/{evidence.pk}/download/").status_code == 404
    assert api_as("staff").get(f"/api/evidence/{evidence.pk}/").status_code == 404


# Never a 500 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/findings/99999999999999999999/",
        "/api/inspections/99999999999999999999/",
        "/api/evidence/99999999999999999999/download/",
        "/api/audit-cycles/99999999999999999999/",
    ],
)
def test_an_id_beyond_any_row_is_not_found(api_as, cycle, url):
    assert api_as("admin").get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/findings/?cycle=abc",
        "/api/findings/?status=bogus",
        "/api/inspections/?cycle=abc",
        "/api/answers/?result=maybe",
        "/api/audit-cycles/?fiscal_year=next",
        "/api/checklist-items/?area=astrology",
    ],
)
def test_a_bad_filter_is_a_400(api_as, cycle, url):
    assert api_as("admin").get(url).status_code == 400


def test_nothing_is_written_when_a_request_is_refused(api_as, submitted, finding):
    counts = (Answer.objects.count(), Finding.objects.count(), Inspection.objects.count())
    client = api_as("other_head")
    post_answer(client, submitted, first_item(submitted.cycle), "not_compliant")
    client.post("/api/findings/", new_finding(submitted.cycle), format="json")
    plan_action(client, finding)
    client.post(f"/api/inspections/{submitted.pk}/return/", {"reason": "x"}, format="json")
    assert (Answer.objects.count(), Finding.objects.count(), Inspection.objects.count()) == counts
    assert not CorrectiveAction.objects.exists()
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED
