"""The self-inspection in parts (issue 12): one page per countermeasure area with its
progress, a save per part that keeps the other parts and never loses what was typed, a
summary that lists the unanswered items (each linked to its place) and the answers per part,
and submission only from the summary, after a confirmation that says what will happen.

The city of conftest.py; the cycle covers 総務部 and 教育部, the auditor assigned to 総務部.
Assertions rest on URLs, data-testid attributes, ids and model state, not translated text.
"""

import re

import pytest

from audits import services
from audits.models import Area, Evidence, Result, SubmissionStatus

from .audit_helpers import answer_all, answers, inspection, open_cycle, upload
from .conftest import ROLES
from .pages import is_login_redirect, page

AREAS = list(Area.values)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def cycle(org, people):
    cycle = open_cycle(people, [org["somu"], org["kyoiku"]])
    services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    return cycle


@pytest.fixture
def somu(cycle, org):
    return inspection(cycle, org["somu"])


def items_of(somu, area):
    return list(somu.cycle.checklist.items.filter(area=area).order_by("pk"))


def summary_url(somu):
    return f"/audits/inspections/{somu.pk}/"


def part_url(somu, area):
    return f"/audits/inspections/{somu.pk}/parts/{area}/"


def submit_url(somu):
    return f"/audits/inspections/{somu.pk}/submit/"


def part_data(somu, area, result=Result.COMPLIANT, comment="", **extra):
    data = {}
    for item in items_of(somu, area):
        data[f"result-{item.pk}"] = result
        data[f"comment-{item.pk}"] = comment
    return data | extra


# Who sees and does what on the new pages -------------------------------------------------

SEES = {
    "staff": 403,
    "chief": 200,
    "head": 200,
    "other_head": 404,
    "auditor": 200,
    "ciso": 200,
    "admin": 200,
}
# Only the department answers its self-inspection; the others who see it may not.
SUBMITS = {**SEES, "auditor": 403, "ciso": 403, "admin": 403}
SIGNED_IN = [role for role in ROLES if role != "anonymous"]


@pytest.mark.parametrize("role", SIGNED_IN)
@pytest.mark.parametrize("area", ["organisation", "review"])
def test_a_part_page_answers_each_persona_as_the_inspection_page_does(somu, as_role, role, area):
    assert as_role(role).get(part_url(somu, area)).status_code == SEES[role]
    assert as_role(role).get(summary_url(somu)).status_code == SEES[role]


@pytest.mark.parametrize("role", SIGNED_IN)
def test_only_the_department_saves_a_part(somu, as_role, role):
    response = as_role(role).post(part_url(somu, "organisation"), part_data(somu, "organisation"))
    if role in ("chief", "head"):
        assert response.status_code == 302
        assert len(answers(somu)) == len(items_of(somu, "organisation"))
    else:
        assert response.status_code == SUBMITS[role]
        assert answers(somu) == {}


@pytest.mark.parametrize("role", SIGNED_IN)
def test_only_the_department_is_asked_to_confirm_a_submission(somu, people, as_role, role):
    answer_all(somu, by=people["head"])
    response = as_role(role).get(submit_url(somu))
    assert response.status_code == SUBMITS[role]
    response = as_role(role).post(submit_url(somu), {"confirmed": "yes"})
    somu.refresh_from_db()
    if role in ("chief", "head"):
        assert response.status_code == 302
        assert somu.status == SubmissionStatus.SUBMITTED
    else:
        assert response.status_code == SUBMITS[role]
        assert somu.status == SubmissionStatus.OPEN


def test_anonymous_visitors_are_sent_to_log_in_from_the_new_pages(somu, as_role):
    client = as_role("anonymous")
    for url in (part_url(somu, "organisation"), submit_url(somu)):
        assert is_login_redirect(client.get(url), url)
    response = client.post(part_url(somu, "organisation"), part_data(somu, "organisation"))
    assert is_login_redirect(response, part_url(somu, "organisation"))
    assert answers(somu) == {}


def test_another_departments_inspection_is_not_found_on_any_part_or_submit_address(
    cycle, org, people, as_role
):
    kyoiku = inspection(cycle, org["kyoiku"])
    answer_all(kyoiku, by=people["other_head"])
    client = as_role("head")
    assert client.get(part_url(kyoiku, "organisation")).status_code == 404
    assert client.post(submit_url(kyoiku), {"confirmed": "yes"}).status_code == 404
    kyoiku.refresh_from_db()
    assert kyoiku.status == SubmissionStatus.OPEN


def test_an_unknown_part_is_not_found(somu, as_role):
    assert as_role("head").get(part_url(somu, "nonsense")).status_code == 404


# Parts and progress ----------------------------------------------------------------------


def test_the_summary_lists_the_nine_parts_with_answered_counts_and_a_status(somu, people, as_role):
    organisation = items_of(somu, "organisation")
    services.save_answers(somu, {organisation[0].pk: (Result.COMPLIANT, "")}, by=people["chief"])
    answer_all_of = {item.pk: (Result.COMPLIANT, "") for item in items_of(somu, "assets")}
    services.save_answers(somu, answer_all_of, by=people["chief"])

    dom = page(as_role("head").get(summary_url(somu)))
    parts = dom.find(testid="parts")
    shown = [li.attrs["data-testid"] for li in parts.find_all("li")]
    assert shown == [f"part-{area}" for area in AREAS]
    status = {
        area: parts.find(testid=f"part-{area}").find(testid="part-status").classes for area in AREAS
    }
    assert "in_progress" in status["organisation"]
    assert "complete" in status["assets"]
    assert "not_started" in status["review"]
    count = parts.find(testid="part-organisation").find(cls="count").text
    assert sorted(int(n) for n in re.findall(r"\d+", count)) == sorted([1, len(organisation)])


def test_each_unanswered_item_links_to_its_place_on_its_parts_page(somu, people, as_role):
    answer_all(somu, by=people["head"])
    left = items_of(somu, "technical")[1]
    somu.answers.filter(item=left).delete()
    client = as_role("head")

    dom = page(client.get(summary_url(somu)))
    links = dom.find(testid="unanswered").find_all("a")
    assert [a.attrs["href"] for a in links] == [f"{part_url(somu, 'technical')}#item-{left.pk}"]
    target = page(client.get(part_url(somu, "technical")))
    assert target.find(id=f"item-{left.pk}") is not None


def test_a_part_page_shows_only_its_items_and_marks_itself_among_the_parts(somu, as_role):
    dom = page(as_role("chief").get(part_url(somu, "physical")))
    numbers = {item.number for item in items_of(somu, "physical")}
    selects = dom.find_all("select")
    assert {s.attrs["data-testid"] for s in selects} == {f"result-{n}" for n in numbers}
    current = [a for a in dom.find(testid="parts").find_all("a") if a.attrs.get("aria-current")]
    assert [a.attrs["href"] for a in current] == [part_url(somu, "physical")]
    # Submitting is not offered on a part's page.
    assert dom.find(testid="submit-inspection") is None


# Saving a part ---------------------------------------------------------------------------


def test_saving_a_part_keeps_the_other_parts_answers_untouched(somu, people, as_role):
    answer_all(somu, by=people["head"], result=Result.PARTLY, comment="前回")
    before = answers(somu)
    response = as_role("chief").post(
        part_url(somu, "human"), part_data(somu, "human", Result.NOT_COMPLIANT, "未実施")
    )
    assert response.status_code == 302
    assert response["Location"] == part_url(somu, "human")
    after = answers(somu)
    human = {item.pk for item in items_of(somu, "human")}
    assert {pk: v for pk, v in after.items() if pk not in human} == {
        pk: v for pk, v in before.items() if pk not in human
    }
    assert {after[pk] for pk in human} == {(Result.NOT_COMPLIANT, "未実施")}


def test_save_and_next_goes_to_the_next_part_and_after_the_last_to_the_summary(somu, as_role):
    client = as_role("head")
    response = client.post(
        part_url(somu, "organisation"), part_data(somu, "organisation", next="1")
    )
    assert response["Location"] == part_url(somu, "assets")
    response = client.post(part_url(somu, "review"), part_data(somu, "review", next="1"))
    assert response["Location"] == summary_url(somu)


def test_a_comment_without_a_result_is_refused_beside_the_field_and_everything_typed_is_kept(
    somu, as_role
):
    first, second, *_ = items_of(somu, "operations")
    data = {
        f"result-{first.pk}": Result.PARTLY,
        f"comment-{first.pk}": "一部のみ実施",
        f"result-{second.pk}": "",
        f"comment-{second.pk}": "ログの確認手順を作成中",
    }
    response = as_role("chief").post(part_url(somu, "operations"), data)

    assert response.status_code == 200
    dom = page(response)
    summary = dom.find(testid="error-summary")
    assert [a.attrs["href"] for a in summary.find_all("a")] == [f"#id_result-{second.pk}"]
    field = dom.find(id=f"item-{second.pk}")
    assert "has-error" in field.classes
    assert field.find("p", cls="error") is not None
    # What was typed is shown again, for both items.
    options = dom.find("select", id=f"id_result-{first.pk}").find_all("option")
    assert [o.attrs["value"] for o in options if "selected" in o.attrs] == [Result.PARTLY]
    assert dom.find("textarea", id=f"id_comment-{first.pk}").text == "一部のみ実施"
    assert dom.find("textarea", id=f"id_comment-{second.pk}").text == "ログの確認手順を作成中"
    assert answers(somu) == {}


def test_a_result_that_is_not_a_choice_is_refused_with_the_input_kept(somu, as_role):
    item = items_of(somu, "assets")[0]
    data = part_data(somu, "assets") | {f"result-{item.pk}": "maybe"}
    data[f"comment-{item.pk}"] = "確認中"
    response = as_role("head").post(part_url(somu, "assets"), data)
    assert response.status_code == 200
    dom = page(response)
    assert dom.find(testid="error-summary") is not None
    assert dom.find("textarea", id=f"id_comment-{item.pk}").text == "確認中"
    assert answers(somu) == {}


def test_every_field_of_a_part_page_has_a_label_evidence_inputs_included(somu, people, as_role):
    services.save_answers(
        somu,
        {item.pk: (Result.COMPLIANT, "") for item in items_of(somu, "assets")},
        by=people["head"],
    )
    dom = page(as_role("head").get(part_url(somu, "assets")))
    labelled = {label.attrs.get("for") for label in dom.find_all("label")}
    fields = [
        node
        for node in dom.find("main").iter()
        if node.tag in ("input", "select", "textarea")
        and node.attrs.get("type") not in ("hidden", "submit")
    ]
    files = [node for node in fields if node.attrs.get("type") == "file"]
    assert len(files) == len(items_of(somu, "assets"))
    assert [node.attrs.get("id") for node in fields if node.attrs.get("id") not in labelled] == []
    assert len({node.attrs["id"] for node in fields}) == len(fields)  # ids are unique


# Evidence on a part page -----------------------------------------------------------------


def test_evidence_is_attached_from_the_part_page_and_refused_beside_its_field(
    somu, people, as_role
):
    item = items_of(somu, "technical")[0]
    services.save_answers(somu, {item.pk: (Result.COMPLIANT, "")}, by=people["head"])
    answer = somu.answers.get(item=item)
    client = as_role("head")

    refused = client.post(
        f"/audits/answers/{answer.pk}/evidence/", {"file": upload("tool.exe", b"MZ")}
    )
    assert refused.status_code == 200
    dom = page(refused)
    assert [a.attrs["href"] for a in dom.find(testid="error-summary").find_all("a")] == [
        f"#id_evidence-{answer.pk}-file"
    ]
    assert not Evidence.objects.exists()

    response = client.post(f"/audits/answers/{answer.pk}/evidence/", {"file": upload()})
    assert response.status_code == 302
    assert response["Location"] == f"{part_url(somu, 'technical')}#item-{item.pk}"
    assert Evidence.objects.get().answer == answer


# Submitting from the summary, after a confirmation ---------------------------------------


def test_submitting_is_offered_only_once_every_item_is_answered(somu, people, as_role):
    answer_all(somu, by=people["head"])
    somu.answers.filter(item=items_of(somu, "review")[0]).delete()
    client = as_role("chief")
    assert page(client.get(summary_url(somu))).find(testid="submit-inspection") is None
    # Asked anyway, the portal sends the person back to the summary with the count.
    response = client.get(submit_url(somu))
    assert response.status_code == 302
    assert response["Location"] == summary_url(somu)

    answer_all(somu, by=people["head"])
    dom = page(client.get(summary_url(somu)))
    button = dom.find(testid="submit-inspection")
    assert button is not None
    form = next(f for f in dom.find_all("form") if f.find(testid="submit-inspection"))
    assert form.attrs["action"] == submit_url(somu)


def test_submitting_asks_first_what_will_happen_and_submits_only_when_confirmed(
    somu, people, as_role
):
    answer_all(somu, by=people["head"])
    client = as_role("chief")

    asked = client.post(submit_url(somu))
    assert asked.status_code == 200
    dom = page(asked)
    confirmation = dom.find(testid="confirmation")
    assert len(confirmation.find_all("li")) == 3
    assert (
        people["auditor"].get_full_name() in confirmation.text
        or str(people["auditor"]) in confirmation.text
    )
    form = confirmation.find("form")
    assert form.attrs["action"] == submit_url(somu)
    assert form.find("input", name="confirmed").attrs["value"] == "yes"
    somu.refresh_from_db()
    assert somu.status == SubmissionStatus.OPEN

    response = client.post(submit_url(somu), {"confirmed": "yes"})
    assert response["Location"] == summary_url(somu)
    somu.refresh_from_db()
    assert somu.status == SubmissionStatus.SUBMITTED
    assert somu.submitted_by == people["chief"]


def test_submitted_parts_are_read_only_and_refuse_a_save(somu, people, as_role):
    answer_all(somu, by=people["head"])
    services.submit(somu, by=people["head"])
    before = answers(somu)
    client = as_role("head")
    dom = page(client.get(part_url(somu, "organisation")))
    assert dom.find_all("select") == []
    assert dom.find(testid="save-part") is None
    response = client.post(
        part_url(somu, "organisation"), part_data(somu, "organisation", "partly")
    )
    assert response.status_code == 403
    assert answers(somu) == before


def test_the_summary_shows_the_answers_of_every_part(somu, people, as_role):
    answer_all(somu, by=people["head"], comment="確認済")
    dom = page(as_role("auditor").get(summary_url(somu)))
    for area in AREAS:
        section = dom.find(testid=f"answers-{area}")
        rows = section.find("tbody").find_all("tr")
        assert [tr.attrs["data-item"] for tr in rows] == [i.number for i in items_of(somu, area)]
        assert all("確認済" in tr.text for tr in rows)


# The auditor's forms on the summary keep what was typed ----------------------------------


def test_returning_without_a_reason_shows_the_error_beside_the_reason(somu, people, as_role):
    answer_all(somu, by=people["head"])
    services.submit(somu, by=people["head"])
    response = as_role("auditor").post(f"/audits/inspections/{somu.pk}/return/", {"reason": " "})
    assert response.status_code == 200
    dom = page(response)
    assert [a.attrs["href"] for a in dom.find(testid="error-summary").find_all("a")] == [
        "#id_reason"
    ]
    somu.refresh_from_db()
    assert somu.status == SubmissionStatus.SUBMITTED


def test_a_finding_from_an_answer_without_a_severity_keeps_the_title_typed(somu, people, as_role):
    item = items_of(somu, "assets")[0]
    answer_all(somu, by=people["head"])
    services.save_answers(somu, {item.pk: (Result.NOT_COMPLIANT, "未整備")}, by=people["head"])
    services.submit(somu, by=people["head"])
    answer = somu.answers.get(item=item)
    response = as_role("auditor").post(
        f"/audits/answers/{answer.pk}/finding/", {"severity": "", "title": "台帳の未整備"}
    )
    assert response.status_code == 200
    dom = page(response)
    assert [a.attrs["href"] for a in dom.find(testid="error-summary").find_all("a")] == [
        f"#id_finding-{answer.pk}-severity"
    ]
    form = dom.find(testid=f"to-finding-{item.number}")
    assert form.find("input", name="title").attrs["value"] == "台帳の未整備"


# Bounded queries -------------------------------------------------------------------------


def test_the_part_and_summary_pages_read_a_bounded_number_of_queries(
    somu, people, as_role, django_assert_max_num_queries
):
    answer_all(somu, by=people["head"], comment="確認済")
    for answer in somu.answers.order_by("pk")[:5]:
        services.attach_evidence(upload(), by=people["head"], answer=answer)
    client = as_role("head")
    client.get(summary_url(somu))  # warm the session and permission caches
    for area in ("organisation", "technical"):
        with django_assert_max_num_queries(16):
            assert client.get(part_url(somu, area)).status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(summary_url(somu)).status_code == 200
    auditor = as_role("auditor")
    with django_assert_max_num_queries(20):
        assert auditor.get(summary_url(somu)).status_code == 200
