"""Errors in view and input kept on the audit forms (issue 12): a corrective action with an
owner who cannot be named, a finding edit, a reopening, a cycle, an auditor assignment and an
evidence file that fail come back on the same page with the error summary at the top, the
error beside the field and everything typed still there; and closing a finding asks first,
saying what will happen.

Assertions rest on status codes, ids, data-testid attributes and model state, not text."""

import datetime

import pytest

from audits import services
from audits.models import AuditorAssignment, CorrectiveAction, Cycle, Evidence, FindingStatus

from .audit_helpers import open_cycle, record_finding, upload
from .conftest import ROLES
from .pages import page

SIGNED_IN = [role for role in ROLES if role != "anonymous"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def cycle(org, people):
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return cycle


@pytest.fixture
def finding(cycle, org, people):
    return record_finding(cycle, org["somu"], by=people["auditor"])


@pytest.fixture
def planned(finding, people):
    services.add_corrective_action(
        finding,
        by=people["head"],
        owner=people["chief"],
        plan="持出し簿を整備する",
        due_on=finding.cycle.due_on,
    )
    return finding


def summary_links(dom):
    summary = dom.find(testid="error-summary")
    assert summary is not None, "no error summary at the top"
    return [a.attrs["href"] for a in summary.find_all("a")]


def field_box(dom, field_id):
    """The div.field around the input with this id."""
    node = dom.find(id=field_id)
    assert node is not None, field_id
    while node is not None and "field" not in node.classes:
        node = node.parent
    return node


# Corrective actions ----------------------------------------------------------------------


@pytest.mark.parametrize("owner", ["nobody_here", "staff_joho"])
def test_an_owner_who_cannot_be_named_is_refused_beside_the_field_and_the_plan_is_kept(
    finding, as_role, owner
):
    due = (finding.cycle.due_on + datetime.timedelta(days=7)).isoformat()
    plan = "持出し簿の様式を改め、\n課内に周知する。"
    response = as_role("head").post(
        f"/audits/findings/{finding.pk}/corrective-action/",
        {"owner": owner, "plan": plan, "due_on": due},
    )

    assert response.status_code == 200
    dom = page(response)
    assert summary_links(dom) == ["#id_owner"]
    box = field_box(dom, "id_owner")
    assert "has-error" in box.classes
    assert box.find("p", cls="error") is not None
    # What was typed is still there: the plan, the date, and the owner as typed.
    assert dom.find("textarea", id="id_plan").text == plan.replace("\n", " ")
    assert dom.find("input", id="id_due_on").attrs["value"] == due
    assert not CorrectiveAction.objects.exists()
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN


def test_a_missing_plan_is_refused_beside_the_plan_and_the_owner_is_kept(finding, as_role):
    response = as_role("head").post(
        f"/audits/findings/{finding.pk}/corrective-action/",
        {"owner": "chief_joho", "plan": "", "due_on": finding.cycle.due_on.isoformat()},
    )
    assert response.status_code == 200
    dom = page(response)
    assert summary_links(dom) == ["#id_plan"]
    assert dom.find("input", id="id_owner").attrs["value"] == "chief_joho"
    assert not CorrectiveAction.objects.exists()


@pytest.mark.parametrize("role, status", [("other_head", 404), ("staff", 403), ("auditor", 403)])
def test_people_outside_the_department_get_no_form_back_even_with_bad_input(
    finding, as_role, role, status
):
    response = as_role(role).post(
        f"/audits/findings/{finding.pk}/corrective-action/",
        {"owner": "nobody_here", "plan": "", "due_on": "x"},
    )
    assert response.status_code == status
    assert not CorrectiveAction.objects.exists()


# The other forms of a finding ------------------------------------------------------------


def test_a_finding_edit_without_a_title_keeps_the_description_typed(finding, as_role):
    response = as_role("auditor").post(
        f"/audits/findings/{finding.pk}/",
        {
            "title": "",
            "area": finding.area,
            "severity": "major",
            "description": "持出し簿が3か月分欠けている。",
            "recommendation": "",
        },
    )
    assert response.status_code == 200
    dom = page(response)
    assert summary_links(dom) == ["#id_title"]
    assert dom.find("textarea", id="id_description").text == "持出し簿が3か月分欠けている。"
    finding.refresh_from_db()
    assert finding.severity == "minor"


def test_reopening_without_a_reason_is_refused_beside_the_reason(planned, as_role, people):
    services.close_finding(planned, by=people["auditor"])
    response = as_role("auditor").post(f"/audits/findings/{planned.pk}/reopen/", {"reason": " "})
    assert response.status_code == 200
    assert summary_links(page(response)) == ["#id_reason"]
    planned.refresh_from_db()
    assert planned.status == FindingStatus.CLOSED


def test_an_evidence_file_of_a_refused_type_is_refused_beside_the_file_field(finding, as_role):
    response = as_role("head").post(
        f"/audits/findings/{finding.pk}/evidence/", {"file": upload("tool.exe", b"MZ")}
    )
    assert response.status_code == 200
    dom = page(response)
    assert summary_links(dom) == ["#id_file"]
    assert any(label.attrs.get("for") == "id_file" for label in dom.find_all("label"))
    assert not Evidence.objects.exists()


# Closing a finding asks first ------------------------------------------------------------


def test_closing_a_finding_asks_first_and_says_what_will_happen(planned, as_role):
    client = as_role("auditor")
    url = f"/audits/findings/{planned.pk}/close/"
    for asked in (client.get(url), client.post(url)):
        assert asked.status_code == 200
        confirmation = page(asked).find(testid="confirmation")
        assert len(confirmation.find_all("li")) == 3
        form = confirmation.find("form")
        assert form.attrs["action"] == url
        assert form.find("input", name="confirmed").attrs["value"] == "yes"
    planned.refresh_from_db()
    assert planned.status == FindingStatus.ACTION_PLANNED

    response = client.post(url, {"confirmed": "yes"})
    assert response.status_code == 302
    planned.refresh_from_db()
    assert planned.status == FindingStatus.CLOSED


CLOSES = {
    "staff": 403,
    "chief": 403,
    "head": 403,
    "other_head": 404,
    "auditor": 200,
    "ciso": 200,  # the CISO's office audits every self-inspection
    "admin": 200,
}


@pytest.mark.parametrize("role", SIGNED_IN)
def test_only_those_who_audit_the_department_are_asked_to_close_a_finding(planned, as_role, role):
    url = f"/audits/findings/{planned.pk}/close/"
    assert as_role(role).get(url).status_code == CLOSES[role]
    response = as_role(role).post(url, {"confirmed": "yes"})
    planned.refresh_from_db()
    if CLOSES[role] == 200:
        assert response.status_code == 302
        assert planned.status == FindingStatus.CLOSED
    else:
        assert response.status_code == CLOSES[role]
        assert planned.status == FindingStatus.ACTION_PLANNED


def test_anonymous_visitors_are_sent_to_log_in_from_the_close_question(planned, as_role):
    response = as_role("anonymous").get(f"/audits/findings/{planned.pk}/close/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_other_finding_actions_still_take_only_a_post(planned, as_role):
    response = as_role("head").get(f"/audits/findings/{planned.pk}/corrective-action/")
    assert response.status_code == 405


# Cycles ----------------------------------------------------------------------------------


def test_a_cycle_due_before_it_starts_is_refused_with_the_name_kept(org, people, as_role):
    from audits.starter_checklist import load_starter_checklist

    response = as_role("admin").post(
        "/audits/cycles/new/",
        {
            "name": "令和8年度 臨時点検",
            "kind": "self_inspection",
            "fiscal_year": 2026,
            "checklist": load_starter_checklist().pk,
            "departments": [org["somu"].pk],
            "starts_on": "2026-06-01",
            "due_on": "2026-05-01",
        },
    )
    assert response.status_code == 200
    dom = page(response)
    assert summary_links(dom) == ["#id_due_on"]
    assert dom.find("input", id="id_name").attrs["value"] == "令和8年度 臨時点検"
    assert not Cycle.objects.filter(name="令和8年度 臨時点検").exists()


def test_assigning_an_unknown_user_keeps_the_name_typed_beside_the_error(cycle, org, as_role):
    response = as_role("admin").post(
        f"/audits/cycles/{cycle.pk}/assign/",
        {"department": org["kyoiku"].pk, "auditor": "no_such_person"},
    )
    assert response.status_code == 200
    dom = page(response)
    assert summary_links(dom) == ["#id_auditor"]
    assert dom.find("input", id="id_auditor").attrs["value"] == "no_such_person"
    assert not AuditorAssignment.objects.filter(cycle=cycle, department=org["kyoiku"]).exists()
