"""The audit and self-inspection workflow: the starter checklist and the demo, a cycle from
opening to closed findings, the audit trail of every step, and the link from findings to the
policy revisions that address them (seed 7 and 8).

Service-level tests call audits.services as the pages do; page-level tests post the forms
of the pages. Assertions rest on model state, URLs, data-testid attributes and numbers,
never on translated text.
"""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from audits import services
from audits.models import (
    Answer,
    Area,
    AuditorAssignment,
    ChecklistItem,
    ChecklistVersion,
    CorrectiveAction,
    Cycle,
    CycleKind,
    Finding,
    FindingStatus,
    Inspection,
    Result,
    Severity,
    SubmissionStatus,
)
from audits.starter_checklist import load_starter_checklist
from isms import policy_actions, review
from isms.models import AuditEvent, RevisionStatus

from .pages import messages, page

TODAY = datetime.date(2025, 6, 2)


# Fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def checklist(db):
    return load_starter_checklist()


@pytest.fixture
def cycle(checklist, org, people):
    """This year's self-inspection of 総務部 and 教育部, the auditor assigned to both."""
    cycle = services.open_cycle(
        by=people["admin"],
        departments=[org["somu"], org["kyoiku"]],
        name="令和7年度 情報セキュリティ自己点検",
        kind=CycleKind.SELF_INSPECTION,
        fiscal_year=2025,
        checklist=checklist,
        starts_on=TODAY,
        due_on=TODAY + datetime.timedelta(days=60),
    )
    for department in ("somu", "kyoiku"):
        services.assign_auditor(cycle, org[department], people["auditor"], by=people["admin"])
    return cycle


@pytest.fixture
def inspection(cycle, org):
    """総務部's checklist, answered by its head and the chief of 情報政策課."""
    return cycle.inspections.get(department=org["somu"])


def items_of(checklist):
    return list(checklist.items.order_by("pk"))


def answer_all(inspection, *, by, leave_out=0):
    """Answer every item "compliant", leaving the last `leave_out` items unanswered."""
    items = items_of(inspection.cycle.checklist)
    if leave_out:
        items = items[:-leave_out]
    answers = {item.pk: (Result.COMPLIANT, "") for item in items}
    return services.save_answers(inspection, answers, by=by)


def first_item(inspection):
    return items_of(inspection.cycle.checklist)[0]


@pytest.fixture
def submitted(inspection, people):
    """総務部's answers, submitted, with item 6(1)-1 not compliant."""
    item = first_item(inspection)
    answer_all(inspection, by=people["chief"])
    services.save_answers(
        inspection,
        {item.pk: (Result.NOT_COMPLIANT, "連絡体制が古いまま")},
        by=people["chief"],
    )
    return services.submit(inspection, by=people["chief"])


@pytest.fixture
def bad_answer(submitted):
    return submitted.answers.get(result=Result.NOT_COMPLIANT)


@pytest.fixture
def finding(bad_answer, people):
    return services.finding_from_answer(bad_answer, by=people["auditor"], severity=Severity.MINOR)


def events(action, target=None):
    qs = AuditEvent.objects.filter(action=action)
    if target is not None:
        qs = qs.filter(target_type=target._meta.label_lower, target_id=str(target.pk))
    return list(qs.order_by("created_at", "id"))


def only_event(action, target):
    found = events(action, target)
    assert len(found) == 1, f"{len(found)} {action} events for {target!r}"
    return found[0]


@pytest.fixture
def draft(documents, people):
    """A draft of revision 2 of the all-staff standard."""
    return policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n職員向けの基準\n\n## 第2章\n\n連絡体制を年度ごとに見直す。",
        effective_date=timezone.localdate(),
    )


@pytest.fixture
def on_backlog(finding, people):
    return services.update_finding(finding, by=people["auditor"], needs_policy_review=True)


# The starter checklist and the demo ------------------------------------------------------


def test_the_starter_checklist_has_at_least_forty_items_in_all_nine_areas_with_a_reference(
    checklist,
):
    items = list(checklist.items.all())
    assert len(items) >= 40
    assert {item.area for item in items} == set(Area.values)
    assert len(Area.values) == 9
    for item in items:
        assert item.text.strip(), item.number
        assert item.policy_reference.strip(), item.number
        assert item.policy_reference.startswith("基本方針 6("), item.policy_reference
    assert len({item.number for item in items}) == len(items)


def test_loading_the_starter_checklist_again_returns_the_same_version_unchanged(checklist):
    items = ChecklistItem.objects.count()
    assert load_starter_checklist() == checklist
    assert ChecklistVersion.objects.count() == 1
    assert ChecklistItem.objects.count() == items


def test_seed_demo_creates_the_checklist_and_a_self_inspection_with_the_auditor_assigned(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))

    checklist = ChecklistVersion.objects.get()
    assert checklist.items.count() >= 40
    cycle = Cycle.objects.get()
    assert cycle.kind == CycleKind.SELF_INSPECTION
    assert cycle.checklist == checklist
    scope = set(cycle.departments.all())
    assert {d.name for d in scope} == {"総務部", "教育部"}
    assert {i.department for i in cycle.inspections.all()} == scope
    assignments = AuditorAssignment.objects.filter(cycle=cycle)
    assert {a.department for a in assignments} == scope
    assert {a.auditor.username for a in assignments} == {"auditor"}
    opened = only_event("cycle.opened", cycle)
    assert opened.actor.username == "admin"
    assert len(events("cycle.auditor_assigned", cycle)) == 2


def test_running_seed_demo_twice_changes_no_audit_data(db):
    def audit_counts():
        return (
            ChecklistVersion.objects.count(),
            ChecklistItem.objects.count(),
            Cycle.objects.count(),
            Inspection.objects.count(),
            AuditorAssignment.objects.count(),
            AuditEvent.objects.filter(action__startswith="cycle.").count(),
        )

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    first = audit_counts()
    assert first[2] == 1
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert audit_counts() == first


# Opening a cycle ------------------------------------------------------------------------


def test_opening_a_cycle_creates_one_inspection_per_department_in_scope(cycle, org, people):
    inspections = list(cycle.inspections.all())
    assert sorted(i.department.code for i in inspections) == ["kyoiku", "somu"]
    assert all(i.status == SubmissionStatus.OPEN for i in inspections)
    assert not Answer.objects.filter(inspection__cycle=cycle).exists()
    opened = only_event("cycle.opened", cycle)
    assert opened.actor == people["admin"]
    assert sorted(opened.data["departments"]) == ["kyoiku", "somu"]
    assert opened.data["kind"] == CycleKind.SELF_INSPECTION


def test_assigning_an_auditor_is_recorded_once_with_who_assigned_them(cycle, org, people):
    assigned = events("cycle.auditor_assigned", cycle)
    assert [(e.actor, e.data["department"]) for e in assigned] == [
        (people["admin"], "somu"),
        (people["admin"], "kyoiku"),
    ]
    # Assigning the same auditor again changes nothing and records nothing.
    services.assign_auditor(cycle, org["somu"], people["auditor"], by=people["admin"])
    assert AuditorAssignment.objects.filter(cycle=cycle).count() == 2
    assert len(events("cycle.auditor_assigned", cycle)) == 2


@pytest.mark.parametrize("role", ["staff", "chief", "head"])
def test_only_auditors_and_the_cisos_office_open_cycles(checklist, org, people, role):
    with pytest.raises(PermissionDenied):
        services.open_cycle(
            by=people[role],
            departments=[org["somu"]],
            name="勝手な点検",
            kind=CycleKind.SELF_INSPECTION,
            fiscal_year=2025,
            checklist=checklist,
            starts_on=TODAY,
            due_on=TODAY,
        )
    assert not Cycle.objects.exists()
    assert not Inspection.objects.exists()


# Answering and submitting --------------------------------------------------------------


def test_the_department_saves_answers_and_only_changes_are_written(inspection, people):
    total = inspection.cycle.checklist.items.count()
    assert answer_all(inspection, by=people["chief"], leave_out=5) == total - 5
    assert inspection.answers.count() == total - 5
    assert set(inspection.answers.values_list("answered_by", flat=True)) == {people["chief"].pk}
    # The same answers again: nothing changes.
    assert answer_all(inspection, by=people["head"], leave_out=5) == 0
    item = first_item(inspection)
    changed = services.save_answers(
        inspection, {item.pk: (Result.PARTLY, "一部未整備")}, by=people["head"]
    )
    assert changed == 1
    answer = inspection.answers.get(item=item)
    assert (answer.result, answer.comment, answer.answered_by) == (
        Result.PARTLY,
        "一部未整備",
        people["head"],
    )
    inspection.refresh_from_db()
    assert inspection.status == SubmissionStatus.OPEN


def test_answers_need_a_valid_result_and_an_item_of_the_cycles_checklist(inspection, people):
    other = ChecklistVersion.objects.create(name="別の版", version=2)
    stranger = ChecklistItem.objects.create(
        checklist=other, area="human", number="X-1", text="別の項目", policy_reference="-"
    )
    with pytest.raises(ValidationError):
        services.save_answers(inspection, {stranger.pk: (Result.COMPLIANT, "")}, by=people["chief"])
    with pytest.raises(ValidationError):
        services.save_answers(
            inspection, {first_item(inspection).pk: ("maybe", "")}, by=people["chief"]
        )
    assert not inspection.answers.exists()


@pytest.mark.parametrize("role", ["staff", "other_head", "auditor"])
def test_people_who_do_not_answer_the_checklist_cannot_save_answers(inspection, people, role):
    with pytest.raises(PermissionDenied):
        services.save_answers(
            inspection, {first_item(inspection).pk: (Result.COMPLIANT, "")}, by=people[role]
        )
    assert not inspection.answers.exists()


def test_submitting_is_refused_while_items_are_unanswered_and_says_how_many(inspection, people):
    answer_all(inspection, by=people["chief"], leave_out=3)
    with pytest.raises(ValidationError) as refused:
        services.submit(inspection, by=people["chief"])
    assert re.search(r"(?<!\d)3(?!\d)", " ".join(refused.value.messages))
    inspection.refresh_from_db()
    assert inspection.status == SubmissionStatus.OPEN
    assert inspection.submitted_at is None
    assert events("inspection.submitted") == []


def test_submitting_every_answer_locks_them(inspection, people):
    answer_all(inspection, by=people["chief"])
    services.submit(inspection, by=people["chief"])
    inspection.refresh_from_db()
    assert inspection.status == SubmissionStatus.SUBMITTED
    assert inspection.is_locked
    assert inspection.submitted_by == people["chief"]
    assert inspection.submitted_at is not None
    assert only_event("inspection.submitted", inspection).actor == people["chief"]
    item = first_item(inspection)
    with pytest.raises(ValidationError):
        services.save_answers(inspection, {item.pk: (Result.PARTLY, "")}, by=people["chief"])
    with pytest.raises(ValidationError):
        services.submit(inspection, by=people["head"])
    assert inspection.answers.get(item=item).result == Result.COMPLIANT
    assert len(events("inspection.submitted")) == 1


def test_returning_for_correction_needs_a_reason_and_unlocks_the_answers(submitted, people):
    auditor = people["auditor"]
    for blank in ("", "   "):
        with pytest.raises(ValidationError):
            services.return_for_correction(submitted, by=auditor, reason=blank)
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED
    assert events("inspection.returned") == []

    services.return_for_correction(submitted, by=auditor, reason=" 6(1)-1の根拠を添付のこと ")
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.RETURNED
    assert not submitted.is_locked
    assert submitted.returned_reason == "6(1)-1の根拠を添付のこと"
    returned = only_event("inspection.returned", submitted)
    assert returned.actor == auditor
    assert returned.data == {"reason": "6(1)-1の根拠を添付のこと"}

    # The department corrects and submits again; the reason is cleared.
    item = first_item(submitted)
    assert services.save_answers(submitted, {item.pk: (Result.PARTLY, "")}, by=people["chief"])
    services.submit(submitted, by=people["chief"])
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED
    assert submitted.returned_reason == ""
    assert len(events("inspection.submitted", submitted)) == 2


def test_the_department_cannot_return_its_own_answers(submitted, people):
    with pytest.raises(PermissionDenied):
        services.return_for_correction(submitted, by=people["head"], reason="取り下げたい")
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED


def test_answers_still_being_written_cannot_be_returned(inspection, people):
    answer_all(inspection, by=people["chief"])
    with pytest.raises(ValidationError):
        services.return_for_correction(inspection, by=people["auditor"], reason="早すぎる")
    inspection.refresh_from_db()
    assert inspection.status == SubmissionStatus.OPEN


# Findings ------------------------------------------------------------------------------


def test_a_not_compliant_answer_becomes_a_finding_in_one_step(bad_answer, people, org):
    finding = services.finding_from_answer(
        bad_answer, by=people["auditor"], severity=Severity.MAJOR, recommendation="年度ごとに更新"
    )
    finding.refresh_from_db()
    assert finding.source_answer == bad_answer
    assert finding.item == bad_answer.item
    assert finding.area == bad_answer.item.area
    assert finding.cycle == bad_answer.inspection.cycle
    assert finding.department == org["somu"]
    assert finding.severity == Severity.MAJOR
    assert finding.title == bad_answer.item.text[:200]
    assert finding.description == "連絡体制が古いまま"
    assert finding.recommendation == "年度ごとに更新"
    assert finding.status == FindingStatus.OPEN
    assert finding.created_by == people["auditor"]
    recorded = only_event("finding.recorded", finding)
    assert recorded.actor == people["auditor"]
    assert recorded.data == {"severity": "major", "department": "somu"}


def test_an_answer_becomes_a_finding_only_once(finding, bad_answer, people):
    with pytest.raises(ValidationError):
        services.finding_from_answer(bad_answer, by=people["auditor"], severity=Severity.MAJOR)
    assert Finding.objects.filter(source_answer=bad_answer).count() == 1
    assert len(events("finding.recorded")) == 1


@pytest.mark.parametrize("result", [Result.COMPLIANT, Result.NOT_APPLICABLE])
def test_a_compliant_answer_does_not_become_a_finding(submitted, people, result):
    answer = submitted.answers.exclude(result=Result.NOT_COMPLIANT).first()
    Answer.objects.filter(pk=answer.pk).update(result=result)
    with pytest.raises(ValidationError):
        services.finding_from_answer(answer, by=people["auditor"], severity=Severity.MINOR)
    assert not Finding.objects.exists()
    assert events("finding.recorded") == []


def test_the_department_cannot_turn_its_own_answer_into_a_finding(bad_answer, people):
    with pytest.raises(PermissionDenied):
        services.finding_from_answer(bad_answer, by=people["head"], severity=Severity.MINOR)
    assert not Finding.objects.exists()


def test_a_corrective_action_moves_the_finding_to_action_planned(finding, people):
    due = TODAY + datetime.timedelta(days=30)
    action = services.add_corrective_action(
        finding, by=people["head"], owner=people["chief"], plan=" 連絡網を更新する ", due_on=due
    )
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACTION_PLANNED
    assert (action.finding, action.owner, action.plan, action.due_on, action.created_by) == (
        finding,
        people["chief"],
        "連絡網を更新する",
        due,
        people["head"],
    )
    planned = only_event("finding.action_planned", finding)
    assert planned.actor == people["head"]
    assert planned.data == {"owner": "chief_joho", "due_on": due.isoformat()}


def test_a_corrective_action_needs_a_plan_and_comes_from_the_department(finding, people):
    due = TODAY + datetime.timedelta(days=30)
    with pytest.raises(ValidationError):
        services.add_corrective_action(
            finding, by=people["head"], owner=people["chief"], plan="  ", due_on=due
        )
    for role in ("other_head", "staff", "auditor"):
        with pytest.raises(PermissionDenied):
            services.add_corrective_action(
                finding, by=people[role], owner=people["chief"], plan="計画", due_on=due
            )
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert not CorrectiveAction.objects.exists()


def test_a_finding_is_closed_only_after_a_corrective_action(finding, people):
    with pytest.raises(ValidationError):
        services.close_finding(finding, by=people["auditor"])
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert finding.closed_at is None

    services.add_corrective_action(
        finding, by=people["chief"], owner=people["chief"], plan="更新する", due_on=TODAY
    )
    with pytest.raises(PermissionDenied):
        services.close_finding(finding, by=people["head"])
    services.close_finding(finding, by=people["auditor"])
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CLOSED
    assert finding.closed_at is not None
    assert only_event("finding.closed", finding).actor == people["auditor"]
    # Closed is closed: no more actions or edits until it is reopened.
    with pytest.raises(ValidationError):
        services.add_corrective_action(
            finding, by=people["head"], owner=people["chief"], plan="追加", due_on=TODAY
        )
    with pytest.raises(ValidationError):
        services.update_finding(finding, by=people["auditor"], title="書き換え")


def test_reopening_a_closed_finding_needs_a_reason(finding, people):
    with pytest.raises(ValidationError):
        services.reopen_finding(finding, by=people["auditor"], reason="まだ開いている")
    services.add_corrective_action(
        finding, by=people["head"], owner=people["chief"], plan="更新する", due_on=TODAY
    )
    services.close_finding(finding, by=people["auditor"])
    for blank in ("", " \n "):
        with pytest.raises(ValidationError):
            services.reopen_finding(finding, by=people["auditor"], reason=blank)
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CLOSED

    services.reopen_finding(finding, by=people["auditor"], reason="再発を確認")
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert finding.closed_at is None
    reopened = only_event("finding.reopened", finding)
    assert reopened.actor == people["auditor"]
    assert reopened.data == {"reason": "再発を確認"}


def test_every_step_of_a_cycle_is_on_the_audit_trail_with_who_took_it(on_backlog, draft, people):
    finding = on_backlog
    services.add_corrective_action(
        finding, by=people["head"], owner=people["chief"], plan="更新する", due_on=TODAY
    )
    services.close_finding(finding, by=people["auditor"])
    services.reopen_finding(finding, by=people["ciso"], reason="再確認")
    review.cite(draft, review.items_of(finding), by=people["admin"])
    services.return_for_correction(
        finding.source_answer.inspection, by=people["auditor"], reason="根拠不足"
    )

    cycle = finding.cycle
    inspection = finding.source_answer.inspection
    trail = [
        ("cycle.opened", cycle, "admin"),
        ("cycle.auditor_assigned", cycle, "admin"),
        ("inspection.submitted", inspection, "chief"),
        ("finding.recorded", finding, "auditor"),
        ("finding.edited", finding, "auditor"),
        ("review.item_raised", backlog_item(finding), "auditor"),
        ("finding.action_planned", finding, "head"),
        ("finding.closed", finding, "auditor"),
        ("finding.reopened", finding, "ciso"),
        ("revision.review_items_cited", draft, "admin"),
        ("inspection.returned", inspection, "auditor"),
    ]
    for action, target, role in trail:
        recorded = events(action, target)
        assert recorded, f"no {action} event"
        assert {e.actor for e in recorded} == {people[role]}, action
        assert {e.actor_name for e in recorded} == {people[role].username}, action


# The policy review backlog (isms.review) and the revisions that address findings -------
# The backlog's own pages are tested in test_policy_review_backlog.py.


def backlog_item(finding):
    """The finding's one item on the policy review backlog."""
    (item,) = review.items_of(finding)
    return item


def test_marking_a_finding_for_policy_review_is_recorded(on_backlog, people):
    assert on_backlog.needs_policy_review
    edited = only_event("finding.edited", on_backlog)
    assert edited.actor == people["auditor"]
    assert edited.data == {"changes": {"needs_policy_review": [False, True]}}


def test_marking_a_finding_for_policy_review_puts_it_on_the_backlog(on_backlog, org, people):
    item = backlog_item(on_backlog)
    assert (item.source_kind, item.source_id) == ("audits.finding", on_backlog.pk)
    assert (item.title, item.link) == (on_backlog.title, f"/audits/findings/{on_backlog.pk}/")
    assert (item.department, item.raised_by) == (org["somu"], people["auditor"])
    assert only_event("review.item_raised", item).actor == people["auditor"]


def test_a_finding_recorded_for_policy_review_is_on_the_backlog_at_once(cycle, org, people):
    flagged = services.record_finding(
        by=people["auditor"],
        cycle=cycle,
        department=org["kyoiku"],
        area=Area.HUMAN,
        title="研修未受講",
        severity=Severity.MINOR,
        description="研修を受けていない職員がいる。",
        needs_policy_review=True,
    )
    plain = services.record_finding(
        by=people["auditor"],
        cycle=cycle,
        department=org["kyoiku"],
        area=Area.HUMAN,
        title="掲示の不備",
        severity=Severity.OBSERVATION,
        description="掲示が古い。",
    )
    assert backlog_item(flagged).department == org["kyoiku"]
    assert not review.items_of(plain).exists()


def test_unmarking_a_finding_takes_it_off_the_backlog(on_backlog, people):
    item = backlog_item(on_backlog)
    services.update_finding(on_backlog, by=people["auditor"], needs_policy_review=False)
    assert not review.items_of(on_backlog).exists()
    assert only_event("review.item_withdrawn", item).actor == people["auditor"]


def test_a_cited_finding_stays_on_record_when_unmarked_and_is_not_raised_twice(
    on_backlog, draft, people
):
    review.cite(draft, review.items_of(on_backlog), by=people["admin"])
    services.update_finding(on_backlog, by=people["auditor"], needs_policy_review=False)
    item = backlog_item(on_backlog)
    assert list(item.cited_by.all()) == [draft]
    services.update_finding(on_backlog, by=people["auditor"], needs_policy_review=True)
    assert backlog_item(on_backlog) == item
    assert events("review.item_withdrawn") == []


def test_renaming_a_finding_renames_its_backlog_item(on_backlog, people):
    services.update_finding(on_backlog, by=people["auditor"], title="緊急連絡網の未更新")
    assert backlog_item(on_backlog).title == "緊急連絡網の未更新"


def test_citing_a_findings_item_links_the_draft_revision_to_it(on_backlog, draft, people):
    item = backlog_item(on_backlog)
    review.cite(draft, [item], by=people["admin"])
    assert list(item.cited_by.all()) == [draft]
    assert list(draft.review_items.all()) == [item]
    cited = only_event("revision.review_items_cited", draft)
    assert cited.actor == people["admin"]
    assert cited.data == {"items": [item.pk]}


def test_a_published_revision_cannot_cite_findings(on_backlog, standard, people):
    assert standard.status == RevisionStatus.PUBLISHED
    with pytest.raises(ValidationError):
        review.cite(standard, review.items_of(on_backlog), by=people["admin"])
    assert not backlog_item(on_backlog).cited_by.exists()
    assert events("revision.review_items_cited") == []


@pytest.mark.parametrize("role", ["auditor", "head"])
def test_only_the_cisos_office_cites_findings(on_backlog, draft, people, role):
    with pytest.raises(PermissionDenied):
        review.cite(draft, review.items_of(on_backlog), by=people[role])
    assert not draft.review_items.exists()


def test_the_finding_page_shows_the_revision_that_addresses_it(on_backlog, draft, people, as_role):
    url = f"/audits/findings/{on_backlog.pk}/"
    assert page(as_role("auditor").get(url)).find(testid="addressed-by") is None
    review.cite(draft, review.items_of(on_backlog), by=people["admin"])
    for role in ("auditor", "head", "admin"):
        response = as_role(role).get(url)
        assert response.status_code == 200, role
        addressed = page(response).find(testid="addressed-by")
        assert addressed is not None, role
        assert [a.attrs["href"] for a in addressed.find_all("a")] == [
            f"/policies/standard/revisions/{draft.number}/"
        ]


def test_the_api_lists_the_revisions_citing_a_finding(on_backlog, draft, people, api_as):
    client = api_as("auditor")
    assert client.get(f"/api/findings/{on_backlog.pk}/").json()["addressed_by"] == []
    review.cite(draft, review.items_of(on_backlog), by=people["admin"])
    assert client.get(f"/api/findings/{on_backlog.pk}/").json()["addressed_by"] == [draft.pk]
    listed = {f["id"]: f["addressed_by"] for f in client.get("/api/findings/").json()["results"]}
    assert listed[on_backlog.pk] == [draft.pk]


def test_a_merged_departments_findings_take_their_backlog_items_along(on_backlog, org):
    services.pass_records_to_successor(None, unit=org["somu"], successor=org["kyoiku"])
    assert backlog_item(on_backlog).department == org["kyoiku"]


# The pages, as the department and the auditor use them ---------------------------------


def result_fields(inspection, leave_out=0, **by_number):
    items = items_of(inspection.cycle.checklist)
    if leave_out:
        items = items[:-leave_out]
    return {f"result-{item.pk}": by_number.get(item.number, Result.COMPLIANT) for item in items}


def part_url(inspection, area):
    return f"/audits/inspections/{inspection.pk}/parts/{area}/"


def post_every_part(client, inspection, data):
    """The checklist is answered one part (countermeasure area) at a time."""
    for area in dict.fromkeys(item.area for item in items_of(inspection.cycle.checklist)):
        response = client.post(part_url(inspection, area), data)
        assert response.status_code == 302, area


def test_the_part_pages_offer_a_result_for_every_item_to_the_department(inspection, as_role):
    numbers = set()
    for area in Area.values:
        dom = page(as_role("chief").get(part_url(inspection, area)))
        selects = dom.find_all("select")
        numbers |= {s.attrs["data-testid"] for s in selects}
        values = {o.attrs["value"] for o in selects[0].find_all("option")}
        assert values == {""} | set(Result.values)
    expected = set(inspection.cycle.checklist.items.values_list("number", flat=True))
    assert numbers == {f"result-{n}" for n in expected}
    url = f"/audits/inspections/{inspection.pk}/"
    dom = page(as_role("chief").get(url))
    assert dom.find(testid="submission") is not None
    assert "open" in dom.find(testid="inspection-status").classes
    # The auditor reads the pages but has nothing to answer.
    dom = page(as_role("auditor").get(part_url(inspection, "organisation")))
    assert dom.find_all("select") == []
    assert page(as_role("auditor").get(url)).find(testid="submission") is None


def test_submitting_with_unanswered_items_is_refused_and_keeps_the_answers(
    inspection, client, people
):
    client.force_login(people["chief"])
    url = f"/audits/inspections/{inspection.pk}/"
    post_every_part(client, inspection, result_fields(inspection, leave_out=2))
    response = client.post(f"{url}submit/", {"confirmed": "yes"}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    inspection.refresh_from_db()
    assert inspection.status == SubmissionStatus.OPEN
    assert inspection.answers.count() == inspection.cycle.checklist.items.count() - 2
    errors = [text for level, text in messages(response) if "error" in level]
    assert len(errors) == 1
    assert re.search(r"(?<!\d)2(?!\d)", errors[0])


def test_the_chief_answers_and_submits_on_the_pages_and_the_answers_lock(
    inspection, client, people
):
    client.force_login(people["chief"])
    url = f"/audits/inspections/{inspection.pk}/"
    item = first_item(inspection)
    data = result_fields(inspection, **{item.number: Result.NOT_COMPLIANT})
    data[f"comment-{item.pk}"] = "  古い連絡網  "
    post_every_part(client, inspection, data)
    response = client.post(f"{url}submit/", {"confirmed": "yes"})
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert inspection.status == SubmissionStatus.SUBMITTED
    assert inspection.submitted_by == people["chief"]
    answer = inspection.answers.get(item=item)
    assert (answer.result, answer.comment) == (Result.NOT_COMPLIANT, "古い連絡網")
    dom = page(client.get(url))
    assert "submitted" in dom.find(testid="inspection-status").classes
    assert dom.find(testid="submit-inspection") is None
    assert page(client.get(part_url(inspection, item.area))).find_all("select") == []
    # A post to a locked part is refused and changes nothing.
    response = client.post(part_url(inspection, item.area), result_fields(inspection))
    assert response.status_code == 403
    assert inspection.answers.get(item=item).result == Result.NOT_COMPLIANT


def test_the_auditor_returns_the_answers_from_the_page_with_a_reason(submitted, as_role):
    client = as_role("auditor")
    url = f"/audits/inspections/{submitted.pk}/"
    assert f"/audits/inspections/{submitted.pk}/return/" in [
        f.attrs.get("action") for f in page(client.get(url)).find_all("form")
    ]
    client.post(f"/audits/inspections/{submitted.pk}/return/", {"reason": ""})
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.SUBMITTED
    response = client.post(f"/audits/inspections/{submitted.pk}/return/", {"reason": "要修正"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == SubmissionStatus.RETURNED
    assert submitted.returned_reason == "要修正"
    dom = page(as_role("chief").get(url))
    assert "returned" in dom.find(testid="inspection-status").classes
    assert dom.find(testid="submit-inspection") is not None


def test_the_auditor_turns_the_not_compliant_answer_into_a_finding_on_the_page(bad_answer, as_role):
    client = as_role("auditor")
    url = f"/audits/inspections/{bad_answer.inspection_id}/"
    dom = page(client.get(url))
    number = bad_answer.item.number
    forms = [f for f in dom.find_all("form") if f.attrs.get("data-testid", "").startswith("to-")]
    assert [f.attrs["data-testid"] for f in forms] == [f"to-finding-{number}"]
    assert forms[0].attrs["action"] == f"/audits/answers/{bad_answer.pk}/finding/"

    response = client.post(f"/audits/answers/{bad_answer.pk}/finding/", {"severity": "major"})
    finding = Finding.objects.get(source_answer=bad_answer)
    assert response.status_code == 302
    assert response["Location"] == f"/audits/findings/{finding.pk}/"
    assert finding.severity == Severity.MAJOR
    # Once a finding, the answer links to it instead of offering the form again.
    dom = page(client.get(url))
    assert dom.find(testid=f"to-finding-{number}") is None
    assert f"/audits/findings/{finding.pk}/" in [a.attrs.get("href") for a in dom.find_all("a")]
    client.post(f"/audits/answers/{bad_answer.pk}/finding/", {"severity": "minor"})
    assert Finding.objects.count() == 1


def test_the_department_cannot_post_a_finding_from_its_own_answer(bad_answer, as_role):
    response = as_role("head").post(
        f"/audits/answers/{bad_answer.pk}/finding/", {"severity": "major"}
    )
    assert response.status_code == 403
    assert not Finding.objects.exists()


def test_the_finding_page_takes_it_from_open_to_closed_and_back(finding, as_role, people):
    url = f"/audits/findings/{finding.pk}/"
    auditor_page = page(as_role("auditor").get(url))
    assert "open" in auditor_page.find(testid="finding-status").classes
    assert auditor_page.find(testid="close-finding") is None

    # The auditor marks it for the policy review through the edit form.
    response = as_role("auditor").post(
        url,
        {
            "title": finding.title,
            "area": finding.area,
            "severity": "major",
            "description": finding.description,
            "recommendation": "",
            "needs_policy_review": "on",
        },
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.needs_policy_review
    assert finding.severity == Severity.MAJOR

    # The department head records the corrective action.
    due = TODAY + datetime.timedelta(days=14)
    response = as_role("head").post(
        f"{url}corrective-action/",
        {"owner": "chief_joho", "plan": "連絡網を更新する", "due_on": due.isoformat()},
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACTION_PLANNED
    head_page = page(as_role("head").get(url))
    assert len(head_page.find_all(testid="corrective-action")) == 1
    assert head_page.find(testid="close-finding") is None

    # The auditor verifies and closes it, after a confirmation that says what will happen.
    assert page(as_role("auditor").get(url)).find(testid="close-finding") is not None
    asked = as_role("auditor").post(f"{url}close/")
    assert asked.status_code == 200
    assert page(asked).find(testid="confirmation") is not None
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACTION_PLANNED
    as_role("auditor").post(f"{url}close/", {"confirmed": "yes"})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CLOSED
    assert "closed" in page(as_role("auditor").get(url)).find(testid="finding-status").classes

    # Reopening without a reason is refused; with one, it is open again.
    as_role("auditor").post(f"{url}reopen/", {"reason": ""})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CLOSED
    as_role("auditor").post(f"{url}reopen/", {"reason": "再発"})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN
    assert [e.actor for e in events("finding.reopened", finding)] == [people["auditor"]]


def test_the_department_cannot_close_its_own_finding_on_the_page(finding, as_role, people):
    services.add_corrective_action(
        finding, by=people["head"], owner=people["chief"], plan="更新する", due_on=TODAY
    )
    for data in ({}, {"confirmed": "yes"}):
        response = as_role("head").post(f"/audits/findings/{finding.pk}/close/", data)
        assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACTION_PLANNED
