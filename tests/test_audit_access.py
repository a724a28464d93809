"""Who sees and does what on the audit pages: every page for every persona, a department's
own self-inspection and findings only, the auditor's assigned departments only, the locks on
submitted answers and closed findings, and evidence files that never leave their department
and audit, whatever the URL.

The city of conftest.py; the cycle of this file covers 総務部 and 教育部 with the auditor
assigned to 総務部 only, and a second cycle covers both with no auditor assigned.
"""

import hashlib

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from audits import access, services
from audits.models import (
    AuditorAssignment,
    CorrectiveAction,
    Cycle,
    Evidence,
    Finding,
    FindingStatus,
    Result,
    SubmissionStatus,
)

from .audit_helpers import PDF, answer_all, answers, inspection, open_cycle, record_finding, upload
from .conftest import ROLES
from .pages import is_login_redirect, links, messages, page

SIGNED_IN = [role for role in ROLES if role != "anonymous"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Evidence files go to a directory of this test."""
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
def world(cycle, other_cycle, org, people):
    """Both cycles, and a finding for each department in each (the 教育部 and second-cycle
    findings recorded by the programme admin, who audits every self-inspection)."""
    admin = people["admin"]
    return {
        "cycle": cycle,
        "other_cycle": other_cycle,
        "somu": inspection(cycle, org["somu"]),
        "kyoiku": inspection(cycle, org["kyoiku"]),
        "other_somu": inspection(other_cycle, org["somu"]),
        "somu_finding": record_finding(
            cycle, org["somu"], by=people["auditor"], needs_policy_review=True
        ),
        "kyoiku_finding": record_finding(
            cycle, org["kyoiku"], by=admin, title="教育部の所見", needs_policy_review=True
        ),
        "other_somu_finding": record_finding(
            other_cycle, org["somu"], by=admin, title="臨時点検の所見", needs_policy_review=True
        ),
    }


PAGES = {
    "cycle list": lambda w: "/audits/",
    "cycle": lambda w: f"/audits/cycles/{w['cycle'].pk}/",
    "other cycle": lambda w: f"/audits/cycles/{w['other_cycle'].pk}/",
    "somu inspection": lambda w: f"/audits/inspections/{w['somu'].pk}/",
    "kyoiku inspection": lambda w: f"/audits/inspections/{w['kyoiku'].pk}/",
    "other cycle somu inspection": lambda w: f"/audits/inspections/{w['other_somu'].pk}/",
    "finding list": lambda w: "/audits/findings/",
    "somu finding": lambda w: f"/audits/findings/{w['somu_finding'].pk}/",
    "kyoiku finding": lambda w: f"/audits/findings/{w['kyoiku_finding'].pk}/",
    "other cycle somu finding": lambda w: f"/audits/findings/{w['other_somu_finding'].pk}/",
    "report": lambda w: f"/audits/cycles/{w['cycle'].pk}/report/",
    "other cycle report": lambda w: f"/audits/cycles/{w['other_cycle'].pk}/report/",
    # The core's page now (isms/views/review.py), with the audit findings on it.
    "policy backlog": lambda w: "/policy-review/",
    "cycle create": lambda w: "/audits/cycles/new/",
}

EVERYONE_IN_AUDITS = {
    "staff": 403,
    "chief": 200,
    "head": 200,
    "other_head": 200,
    "auditor": 200,
    "ciso": 200,
    "admin": 200,
}
SOMU_ONLY = {**EVERYONE_IN_AUDITS, "other_head": 404}
KYOIKU_ONLY = {**EVERYONE_IN_AUDITS, "chief": 404, "head": 404, "auditor": 404}
NOT_THE_AUDITOR = {**EVERYONE_IN_AUDITS, "auditor": 404}
SOMU_NOT_THE_AUDITOR = {**SOMU_ONLY, "auditor": 404}
CISOS_OFFICE_AND_AUDITORS = {
    "staff": 403,
    "chief": 403,
    "head": 403,
    "other_head": 403,
    "auditor": 200,
    "ciso": 200,
    "admin": 200,
}

EXPECTED = {
    "cycle list": EVERYONE_IN_AUDITS,
    "cycle": EVERYONE_IN_AUDITS,
    "other cycle": NOT_THE_AUDITOR,
    "somu inspection": SOMU_ONLY,
    "kyoiku inspection": KYOIKU_ONLY,
    "other cycle somu inspection": SOMU_NOT_THE_AUDITOR,
    "finding list": EVERYONE_IN_AUDITS,
    "somu finding": SOMU_ONLY,
    "kyoiku finding": KYOIKU_ONLY,
    "other cycle somu finding": SOMU_NOT_THE_AUDITOR,
    "report": EVERYONE_IN_AUDITS,
    "other cycle report": NOT_THE_AUDITOR,
    "policy backlog": CISOS_OFFICE_AND_AUDITORS,
    # Auditors open cycles as well as the CISO's office (audits.access.runs_cycles).
    "cycle create": CISOS_OFFICE_AND_AUDITORS,
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", SIGNED_IN)
def test_every_audit_page_answers_each_persona_as_the_rules_say(world, as_role, role, name):
    response = as_role(role).get(PAGES[name](world))
    assert response.status_code == EXPECTED[name][role]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_log_in_from_every_audit_page(world, as_role, name):
    url = PAGES[name](world)
    assert is_login_redirect(as_role("anonymous").get(url), url)


def linked(response, prefix):
    """Ids of the objects the page links to under prefix ("/audits/findings/")."""
    found = set()
    for href in links(response):
        rest = href.removeprefix(prefix)
        if href.startswith(prefix) and rest.rstrip("/").isdigit():
            found.add(int(rest.rstrip("/")))
    return found


def test_nobody_signed_in_sees_a_cycle_or_is_assigned_to_audit_a_department(world, cycle, org):
    # Both answered with a TypeError (an AnonymousUser in a query) before mypy pointed it out.
    nobody = AnonymousUser()
    assert not access.visible_cycles(nobody).exists()
    assert not access.is_assigned(nobody, cycle, org["somu"])


@pytest.mark.parametrize(
    "role, expected",
    [
        ("chief", {"somu", "other_somu"}),
        ("head", {"somu", "other_somu"}),
        ("other_head", {"kyoiku", "other_kyoiku"}),
        ("auditor", {"somu"}),
        ("admin", {"somu", "kyoiku", "other_somu", "other_kyoiku"}),
    ],
)
def test_the_cycle_list_links_only_the_checklists_the_persona_may_open(
    world, org, as_role, role, expected
):
    world = {**world, "other_kyoiku": inspection(world["other_cycle"], org["kyoiku"])}
    response = as_role(role).get("/audits/")
    assert linked(response, "/audits/inspections/") == {world[key].pk for key in expected}


@pytest.mark.parametrize(
    "role, cycles",
    [
        ("head", {"cycle", "other_cycle"}),
        ("auditor", {"cycle"}),
        ("ciso", {"cycle", "other_cycle"}),
    ],
)
def test_the_cycle_list_shows_the_auditor_only_the_cycles_they_are_assigned_in(
    world, as_role, role, cycles
):
    response = as_role(role).get("/audits/")
    assert linked(response, "/audits/cycles/") == {world[key].pk for key in cycles}


@pytest.mark.parametrize(
    "role, expected",
    [
        ("head", {"somu"}),
        ("other_head", {"kyoiku"}),
        ("auditor", {"somu"}),
        ("ciso", {"somu", "kyoiku"}),
    ],
)
def test_a_cycle_page_lists_only_the_departments_the_persona_may_see(
    world, as_role, role, expected
):
    response = as_role(role).get(f"/audits/cycles/{world['cycle'].pk}/")
    assert linked(response, "/audits/inspections/") == {world[key].pk for key in expected}


@pytest.mark.parametrize(
    "role, expected",
    [
        ("chief", {"somu_finding", "other_somu_finding"}),
        ("head", {"somu_finding", "other_somu_finding"}),
        ("other_head", {"kyoiku_finding"}),
        ("auditor", {"somu_finding"}),
        ("ciso", {"somu_finding", "kyoiku_finding", "other_somu_finding"}),
        ("admin", {"somu_finding", "kyoiku_finding", "other_somu_finding"}),
    ],
)
def test_the_finding_list_shows_only_findings_the_persona_may_see(world, as_role, role, expected):
    response = as_role(role).get("/audits/findings/")
    assert linked(response, "/audits/findings/") == {world[key].pk for key in expected}


def test_the_finding_list_filters_by_status_and_keeps_the_choice_in_its_form(world, as_role):
    client = as_role("ciso")
    Finding.objects.filter(pk=world["kyoiku_finding"].pk).update(status=FindingStatus.CLOSED)

    closed = client.get("/audits/findings/?status=closed")
    still_open = client.get("/audits/findings/?status=open")

    assert linked(closed, "/audits/findings/") == {world["kyoiku_finding"].pk}
    assert linked(still_open, "/audits/findings/") == {
        world["somu_finding"].pk,
        world["other_somu_finding"].pk,
    }
    options = page(closed).find("select", name="status").find_all("option")
    assert [option.attrs["value"] for option in options if "selected" in option.attrs] == ["closed"]


def test_an_unknown_status_in_the_finding_list_shows_the_form_error(world, as_role):
    response = as_role("ciso").get("/audits/findings/?status=bogus")

    assert response.status_code == 200
    assert page(response).find("div", cls="error") is not None


@pytest.mark.parametrize(
    "role, expected",
    [
        ("auditor", {"somu_finding"}),
        ("ciso", {"somu_finding", "kyoiku_finding", "other_somu_finding"}),
    ],
)
def test_the_policy_backlog_shows_the_auditor_only_their_assigned_findings(
    world, as_role, role, expected
):
    response = as_role(role).get("/policy-review/")
    table = page(response).find("table", testid="backlog")
    hrefs = [a.attrs["href"] for a in table.find_all("a")]
    assert {href for href in hrefs if href.startswith("/audits/findings/")} == {
        f"/audits/findings/{world[key].pk}/" for key in expected
    }


def test_a_department_head_sees_no_checklist_or_finding_of_the_body_above_their_department(
    org, people, as_role
):
    # A cycle may take a whole administrative body in scope: the head of 総務部 answers for
    # 総務部, not for 市長事務部局 above it.
    cycle = open_cycle(people, [org["mayor"], org["somu"]])
    body, somu = inspection(cycle, org["mayor"]), inspection(cycle, org["somu"])
    body_finding = record_finding(cycle, org["mayor"], by=people["admin"], title="本部の所見")
    client = as_role("head")
    assert client.get(f"/audits/inspections/{somu.pk}/").status_code == 200
    assert client.get(f"/audits/inspections/{body.pk}/").status_code == 404
    assert client.get(f"/audits/findings/{body_finding.pk}/").status_code == 404
    assert client.post(f"/audits/inspections/{body.pk}/parts/organisation/", {}).status_code == 404
    assert linked(client.get(f"/audits/cycles/{cycle.pk}/"), "/audits/inspections/") == {somu.pk}
    # The chief of 情報政策課 answers for 総務部 above the section, and no higher.
    chief = as_role("chief")
    assert chief.get(f"/audits/inspections/{somu.pk}/").status_code == 200
    assert chief.get(f"/audits/inspections/{body.pk}/").status_code == 404


# Answering: only one's own department ----------------------------------------------------


def answer_form(cycle, result, comment=""):
    items = cycle.checklist.items.values_list("pk", flat=True)
    data = {f"result-{pk}": result for pk in items}
    data.update({f"comment-{pk}": comment for pk in items})
    return data


def post_every_part(client, inspection, data):
    """The checklist is answered one part (countermeasure area) at a time: the status of
    each part's post."""
    areas = inspection.cycle.checklist.items.values_list("area", flat=True).distinct()
    return {
        client.post(f"/audits/inspections/{inspection.pk}/parts/{area}/", data).status_code
        for area in areas
    }


@pytest.mark.parametrize("role", ["head", "chief"])
def test_the_department_answers_its_own_self_inspection_on_the_page(world, as_role, role):
    somu = world["somu"]
    statuses = post_every_part(
        as_role(role), somu, answer_form(somu.cycle, Result.COMPLIANT, "確認済")
    )
    assert statuses == {302}
    assert set(answers(somu).values()) == {(Result.COMPLIANT, "確認済")}
    assert len(answers(somu)) == somu.cycle.checklist.items.count()


def test_the_head_of_another_department_cannot_answer_somu_even_with_the_url(
    world, as_role, people
):
    somu = world["somu"]
    statuses = post_every_part(
        as_role("other_head"), somu, answer_form(somu.cycle, Result.NOT_COMPLIANT)
    )
    assert statuses == {404}
    assert answers(somu) == {}


@pytest.mark.parametrize("role, status", [("auditor", 403), ("ciso", 403), ("staff", 403)])
def test_people_outside_the_department_cannot_answer_its_self_inspection(
    world, as_role, role, status
):
    somu = world["somu"]
    statuses = post_every_part(as_role(role), somu, answer_form(somu.cycle, Result.NOT_COMPLIANT))
    assert statuses == {status}
    assert answers(somu) == {}


def test_the_answer_form_is_offered_only_to_the_department(world, as_role):
    somu = world["somu"]
    item = somu.cycle.checklist.items.order_by("pk").first()
    testid = f"result-{item.number}"
    part = f"/audits/inspections/{somu.pk}/parts/{item.area}/"
    head_page = page(as_role("head").get(part))
    assert head_page.find("select", testid=testid) is not None
    assert page(as_role("head").get(f"/audits/inspections/{somu.pk}/")).find(testid="submission")
    auditor_page = page(as_role("auditor").get(part))
    assert auditor_page.find("select", testid=testid) is None
    summary = page(as_role("auditor").get(f"/audits/inspections/{somu.pk}/"))
    assert summary.find(testid="submission") is None


# Auditor assignment ----------------------------------------------------------------------


@pytest.fixture
def kansa_cycle(org, people):
    """A cycle that takes 監査事務局, the auditor's own body, in scope."""
    return open_cycle(people, [org["somu"], org["kansa_body"]], name="監査事務局を含む点検")


def test_assigning_the_auditor_to_the_body_of_their_own_section_is_refused(
    kansa_cycle, org, people
):
    with pytest.raises(ValidationError) as refused:
        services.assign_auditor(
            kansa_cycle, org["kansa_body"], people["auditor"], by=people["admin"]
        )
    assert "auditor" in refused.value.message_dict
    assert org["kansa_body"].name in refused.value.message_dict["auditor"][0]
    assert not AuditorAssignment.objects.filter(cycle=kansa_cycle).exists()
    # Another department of the same cycle is fine.
    services.assign_auditor(kansa_cycle, org["somu"], people["auditor"], by=people["admin"])
    assert AuditorAssignment.objects.filter(cycle=kansa_cycle, department=org["somu"]).exists()


def test_the_assign_form_refuses_the_auditors_own_body_with_a_clear_error(
    kansa_cycle, org, people, as_role
):
    url = f"/audits/cycles/{kansa_cycle.pk}/assign/"
    response = as_role("admin").post(
        url, {"department": org["kansa_body"].pk, "auditor": "auditor"}, follow=True
    )
    assert response.status_code == 200
    # Shown again with the error beside the auditor field and in the summary at the top.
    summary = page(response).find(testid="error-summary")
    assert [a.attrs["href"] for a in summary.find_all("a")] == ["#id_auditor"]
    assert org["kansa_body"].name in summary.text
    assert not AuditorAssignment.objects.filter(cycle=kansa_cycle).exists()
    # The auditor sees nothing of the body's checklist either.
    kansa = inspection(kansa_cycle, org["kansa_body"])
    assert as_role("auditor").get(f"/audits/inspections/{kansa.pk}/").status_code == 404


def test_the_assign_form_assigns_the_auditor_to_another_department(
    kansa_cycle, org, people, as_role
):
    response = as_role("admin").post(
        f"/audits/cycles/{kansa_cycle.pk}/assign/",
        {"department": org["somu"].pk, "auditor": "auditor"},
        follow=True,
    )
    assert [level for level, _text in messages(response)] == ["success"]
    assert AuditorAssignment.objects.filter(
        cycle=kansa_cycle, department=org["somu"], auditor=people["auditor"]
    ).exists()


@pytest.mark.parametrize("role", ["staff", "head", "other_head"])
def test_people_who_do_not_run_cycles_cannot_assign_auditors(kansa_cycle, org, as_role, role):
    response = as_role(role).post(
        f"/audits/cycles/{kansa_cycle.pk}/assign/",
        {"department": org["somu"].pk, "auditor": "auditor"},
    )
    assert response.status_code == 403
    assert not AuditorAssignment.objects.filter(cycle=kansa_cycle).exists()


@pytest.mark.parametrize("role", ["staff", "chief", "head", "other_head"])
def test_people_who_do_not_run_cycles_cannot_open_one_on_the_page(org, people, as_role, role):
    from audits.starter_checklist import load_starter_checklist

    checklist = load_starter_checklist()
    response = as_role(role).post(
        "/audits/cycles/new/",
        {
            "name": "勝手な点検",
            "kind": "self_inspection",
            "fiscal_year": 2025,
            "checklist": checklist.pk,
            "departments": [org["somu"].pk],
            "starts_on": "2025-06-01",
            "due_on": "2025-07-31",
        },
    )
    assert response.status_code == 403
    assert not Cycle.objects.exists()


# Submitted answers are locked until returned with a reason -------------------------------


@pytest.fixture
def submitted(world, people):
    somu = answer_all(world["somu"], by=people["head"], comment="確認済")
    return services.submit(somu, by=people["head"])


def test_submitted_answers_cannot_be_changed_on_the_page(submitted, as_role):
    before = answers(submitted)
    url = f"/audits/inspections/{submitted.pk}/"
    data = answer_form(submitted.cycle, Result.NOT_COMPLIANT, "x")
    assert post_every_part(as_role("head"), submitted, data) == {403}
    assert answers(submitted) == before
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED
    shown = page(as_role("head").get(url))
    assert "submitted" in shown.find(testid="inspection-status").classes
    assert shown.find(testid="submit-inspection") is None


def test_no_evidence_is_added_to_submitted_answers(submitted, as_role):
    answer = submitted.answers.order_by("pk").first()
    response = as_role("head").post(f"/audits/answers/{answer.pk}/evidence/", {"file": upload()})
    assert response.status_code == 403
    assert not Evidence.objects.exists()


def test_returning_without_a_reason_is_refused_and_the_answers_stay_locked(submitted, as_role):
    response = as_role("auditor").post(
        f"/audits/inspections/{submitted.pk}/return/", {"reason": "  "}, follow=True
    )
    assert page(response).find(testid="error-summary") is not None
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED


@pytest.mark.parametrize("role, status", [("head", 403), ("chief", 403), ("other_head", 404)])
def test_only_the_auditor_or_the_cisos_office_returns_answers(submitted, as_role, role, status):
    response = as_role(role).post(
        f"/audits/inspections/{submitted.pk}/return/", {"reason": "自分で差し戻す"}
    )
    assert response.status_code == status
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_answers_returned_with_a_reason_can_be_changed_again(submitted, as_role, role):
    url = f"/audits/inspections/{submitted.pk}/"
    response = as_role(role).post(f"{url}return/", {"reason": "6(2)-1 の根拠が不足"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.RETURNED
    assert submitted.returned_reason == "6(2)-1 の根拠が不足"
    assert "6(2)-1 の根拠が不足" in page(as_role("head").get(url)).find("main").text

    data = answer_form(submitted.cycle, Result.PARTLY, "修正")
    assert post_every_part(as_role("head"), submitted, data) == {302}
    assert set(answers(submitted).values()) == {(Result.PARTLY, "修正")}


# Closed findings cannot be edited, only reopened with a reason ---------------------------


def finding_form(finding, **changes):
    data = {
        "title": finding.title,
        "area": finding.area,
        "severity": finding.severity,
        "description": finding.description,
        "recommendation": finding.recommendation,
    }
    data.update(changes)
    return data


@pytest.fixture
def closed_finding(world, people):
    finding = world["somu_finding"]
    services.add_corrective_action(
        finding,
        by=people["head"],
        owner=people["chief"],
        plan="持出し簿を整備する",
        due_on=finding.cycle.due_on,
    )
    return services.close_finding(finding, by=people["auditor"])


def test_a_closed_finding_cannot_be_edited_on_the_page(closed_finding, as_role):
    url = f"/audits/findings/{closed_finding.pk}/"
    response = as_role("auditor").post(url, finding_form(closed_finding, title="書き換え"))
    assert response.status_code == 200
    assert [level for level, _text in messages(response)] == ["error"]
    closed_finding.refresh_from_db()
    assert closed_finding.title == "持出し記録の不備"
    assert closed_finding.status == FindingStatus.CLOSED
    # No edit form is offered for a closed finding.
    assert page(as_role("auditor").get(url)).find("input", name="title") is None


def test_a_closed_finding_takes_no_new_corrective_action(closed_finding, as_role, people):
    response = as_role("head").post(
        f"/audits/findings/{closed_finding.pk}/corrective-action/",
        {"owner": "chief_joho", "plan": "追加の対策", "due_on": "2025-12-01"},
    )
    # The page again, saying why; no form is offered on a closed finding.
    assert response.status_code == 200
    assert [level for level, _text in messages(response)] == ["error"]
    assert CorrectiveAction.objects.filter(finding=closed_finding).count() == 1
    closed_finding.refresh_from_db()
    assert closed_finding.status == FindingStatus.CLOSED


@pytest.mark.parametrize("role, status", [("head", 403), ("other_head", 404), ("staff", 403)])
def test_only_the_auditor_reopens_a_closed_finding(closed_finding, as_role, role, status):
    response = as_role(role).post(
        f"/audits/findings/{closed_finding.pk}/reopen/", {"reason": "再発"}
    )
    assert response.status_code == status
    closed_finding.refresh_from_db()
    assert closed_finding.status == FindingStatus.CLOSED


def test_a_closed_finding_reopened_with_a_reason_can_be_edited_again(closed_finding, as_role):
    url = f"/audits/findings/{closed_finding.pk}/"
    as_role("auditor").post(f"{url}reopen/", {"reason": ""})
    closed_finding.refresh_from_db()
    assert closed_finding.status == FindingStatus.CLOSED

    as_role("auditor").post(f"{url}reopen/", {"reason": "持出し簿が使われていない"})
    closed_finding.refresh_from_db()
    assert closed_finding.status == FindingStatus.OPEN
    assert closed_finding.closed_at is None

    response = as_role("auditor").post(url, finding_form(closed_finding, title="持出し簿の未使用"))
    assert response.status_code == 302
    closed_finding.refresh_from_db()
    assert closed_finding.title == "持出し簿の未使用"


@pytest.mark.parametrize("role, status", [("head", 403), ("chief", 403), ("other_head", 404)])
def test_the_department_cannot_edit_a_finding(world, as_role, role, status):
    finding = world["somu_finding"]
    response = as_role(role).post(
        f"/audits/findings/{finding.pk}/", finding_form(finding, severity="observation")
    )
    assert response.status_code == status
    finding.refresh_from_db()
    assert finding.severity == "minor"


# Evidence --------------------------------------------------------------------------------


@pytest.fixture
def finding_evidence(world, people):
    """A PDF the head of 総務部 attached to the 総務部 finding of the cycle."""
    return services.attach_evidence(upload(), by=people["head"], finding=world["somu_finding"])


@pytest.fixture
def answer_evidence(world, people):
    """A PDF the head attached to an answer of 総務部's checklist."""
    somu = answer_all(world["somu"], by=people["head"])
    answer = somu.answers.order_by("pk").first()
    return services.attach_evidence(upload("記録.pdf"), by=people["head"], answer=answer)


@pytest.fixture
def other_cycle_evidence(world, people):
    """A PDF on the 総務部 finding of the second cycle, where the auditor is not assigned."""
    return services.attach_evidence(
        upload(), by=people["admin"], finding=world["other_somu_finding"]
    )


DOWNLOAD = {
    "staff": 404,
    "chief": 200,
    "head": 200,
    "other_head": 404,
    "auditor": 200,
    "ciso": 200,
    "admin": 200,
}


def download_urls(evidence):
    return [f"/audits/evidence/{evidence.pk}/", f"/api/evidence/{evidence.pk}/download/"]


@pytest.mark.parametrize("which", ["finding_evidence", "answer_evidence"])
@pytest.mark.parametrize("role", SIGNED_IN)
def test_evidence_is_downloaded_only_inside_its_department_and_audit(request, as_role, role, which):
    evidence = request.getfixturevalue(which)
    for url in download_urls(evidence):
        response = as_role(role).get(url)
        assert response.status_code == DOWNLOAD[role], url
        if response.status_code == 200:
            assert b"".join(response.streaming_content) == PDF
            assert response["Content-Disposition"].startswith("attachment")
            assert response["Content-Type"] == "application/pdf"


def test_evidence_of_a_cycle_the_auditor_is_not_assigned_in_stays_hidden_from_them(
    other_cycle_evidence, as_role
):
    for url in download_urls(other_cycle_evidence):
        assert as_role("auditor").get(url).status_code == 404, url
        assert as_role("head").get(url).status_code == 200, url


def test_anonymous_visitors_cannot_download_evidence(finding_evidence, as_role, api_as):
    url = f"/audits/evidence/{finding_evidence.pk}/"
    assert is_login_redirect(as_role("anonymous").get(url), url)
    response = api_as("anonymous").get(f"/api/evidence/{finding_evidence.pk}/download/")
    assert response.status_code in (401, 403)


def test_a_file_that_does_not_exist_gets_the_same_answer_as_one_the_person_may_not_see(
    finding_evidence, as_role
):
    client = as_role("other_head")
    assert client.get(f"/audits/evidence/{finding_evidence.pk}/").status_code == 404
    assert client.get(f"/audits/evidence/{finding_evidence.pk + 1000}/").status_code == 404


def test_uploaded_evidence_is_stored_under_media_root_with_its_sha256_shown(
    world, as_role, people, media
):
    finding = world["somu_finding"]
    url = f"/audits/findings/{finding.pk}/"
    response = as_role("head").post(f"{url}evidence/", {"file": upload("持出し簿.pdf")})
    assert response.status_code == 302
    evidence = Evidence.objects.get(finding=finding)
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert evidence.size == len(PDF)
    assert evidence.content_type == "application/pdf"
    assert evidence.original_name == "持出し簿.pdf"
    assert evidence.uploaded_by == people["head"]
    assert evidence.file.path.startswith(str(media))
    # The stored name is not the uploaded one.
    assert "持出し簿" not in evidence.file.name

    for role in ("auditor", "head"):
        shown = page(as_role(role).get(url))
        hashes = [code.text for code in shown.find_all("code", cls="hash")]
        assert hashes == [evidence.sha256]


@pytest.mark.parametrize(
    "name, content",
    [
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("script.html", b"<html><script>alert(1)</script></html>"),
        ("no-extension", PDF),
        ("fake.pdf", b"this is plain text, not a PDF"),
        ("fake.png", PDF),
        ("binary.txt", b"\x00\x01\x02binary"),
    ],
)
def test_evidence_of_a_refused_type_or_content_is_not_stored(world, as_role, media, name, content):
    finding = world["somu_finding"]
    response = as_role("head").post(
        f"/audits/findings/{finding.pk}/evidence/",
        {"file": upload(name, content, "application/pdf")},
        follow=True,
    )
    assert response.status_code == 200
    # The page again, the error beside the file field and in the summary at the top.
    summary = page(response).find(testid="error-summary")
    assert [a.attrs["href"] for a in summary.find_all("a")] == ["#id_file"]
    assert not Evidence.objects.exists()
    assert not (media / "evidence").exists()


def test_evidence_larger_than_the_limit_is_refused(world, as_role, settings):
    settings.EVIDENCE_MAX_BYTES = 64
    finding = world["somu_finding"]
    url = f"/audits/findings/{finding.pk}/evidence/"
    too_big = PDF + b" " * (65 - len(PDF))
    as_role("head").post(url, {"file": upload("big.pdf", too_big)})
    assert not Evidence.objects.exists()

    just_fits = PDF + b" " * (64 - len(PDF))
    as_role("head").post(url, {"file": upload("fits.pdf", just_fits)})
    assert list(Evidence.objects.values_list("original_name", "size")) == [("fits.pdf", 64)]


@pytest.mark.parametrize("role, status", [("other_head", 404), ("staff", 403)])
def test_people_outside_the_department_cannot_attach_evidence(world, as_role, role, status):
    finding = world["somu_finding"]
    response = as_role(role).post(f"/audits/findings/{finding.pk}/evidence/", {"file": upload()})
    assert response.status_code == status
    assert not Evidence.objects.exists()
