"""Reporting obligations are data: the rules seeded by incidents.0002 (and edited by the
programme admin) decide which triaged incidents must be reported to which authority, in
which stages, by when. The CSIRT decides whether each is required and moves each report
forward; nobody else may."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from incidents import services
from incidents.models import (
    Category,
    CountFrom,
    Decision,
    Obligation,
    ObligationRule,
    StageRule,
    StageStatus,
    TimelineEntry,
)
from isms.exceptions import WorkflowError
from isms.models import AuditEvent

from .incident_helpers import csirt_fixture  # noqa: F401

SEED = importlib.import_module("incidents.migrations.0002_seed_categories_and_obligations")

# The seeded rules, by the name the migration gives them.
RULE_NAMES = {
    "ppc": "個人情報の漏えい等の報告（個人情報保護委員会）",
    "ppc_my_number": "特定個人情報の漏えい等の報告（個人情報保護委員会）",
    "j-lis": "マイナンバー関連の事案の連絡（J-LIS）",
    "prefecture": "重大な情報セキュリティインシデントの報告（都道府県）",
    "mic": "重大な情報セキュリティインシデントの報告（総務省）",
    "police": "犯罪の疑いがある事案の相談・届出（警察）",
}


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture
def rules(db):
    """The seeded rules. A test that empties the tables (TransactionTestCase's flush) takes
    the migration's rows with it, so they are put back here when missing (the seed skips
    what exists), inside this test's transaction."""
    SEED.seed(apps, None)
    return {key: ObligationRule.objects.get(name=name) for key, name in RULE_NAMES.items()}


@pytest.fixture
def who(people, csirt):
    return {**people, "csirt": csirt}


@pytest.fixture
def make_incident(org, people, rules):
    def make(**fields):
        return services.report(
            people["staff"],
            title=fields.pop("title", "USBメモリの紛失"),
            occurred_at=timezone.now() - datetime.timedelta(hours=2),
            department=org["joho"],
            **fields,
        )

    return make


@pytest.fixture
def triage(csirt):
    def run(incident, *, category="mistake", severity="low", by=None, **fields):
        return services.triage(
            incident,
            by=by or csirt,
            category=Category.objects.get(code=category),
            severity=severity,
            owner=csirt,
            **fields,
        )

    return run


def obligations(incident):
    """{rule name: [(stage, due_at), ...]} of the incident's obligations."""
    return {
        obligation.rule.name: [(s.name, s.due_at) for s in obligation.stages.all()]
        for obligation in Obligation.objects.filter(incident=incident).select_related("rule")
    }


def obligation_of(incident, rules, key):
    return Obligation.objects.get(incident=incident, rule=rules[key])


def stage(obligation, name):
    return obligation.stages.get(name=name)


# --- which incidents call for which reports -------------------------------------------------


def test_personal_data_calls_for_the_ppc_prompt_report_in_5_days_and_final_in_30(
    make_incident, triage, rules
):
    incident = triage(make_incident(personal_data=True))

    aware = incident.triaged_at
    assert obligations(incident) == {
        RULE_NAMES["ppc"]: [("速報", aware + days(5)), ("確報", aware + days(30))]
    }
    assert obligation_of(incident, rules, "ppc").decision == Decision.ASSESSED


def test_my_number_data_calls_for_the_ppc_my_number_report_and_j_lis(make_incident, triage):
    incident = triage(make_incident(my_number=True))

    aware = incident.triaged_at
    assert obligations(incident) == {
        RULE_NAMES["ppc_my_number"]: [("速報", aware + days(5)), ("確報", aware + days(30))],
        RULE_NAMES["j-lis"]: [("第一報", aware + days(1))],
    }


@pytest.mark.parametrize("severity", ["low", "medium"])
def test_a_minor_incident_is_not_reported_to_the_prefecture(make_incident, triage, severity):
    assert obligations(triage(make_incident(), severity=severity)) == {}


def test_a_high_severity_incident_is_reported_to_the_prefecture_first_then_followed_up(
    make_incident, triage, rules, csirt
):
    incident = triage(make_incident(), severity="high")

    # The follow-up's clock does not run until the first report is sent.
    assert obligations(incident) == {
        RULE_NAMES["prefecture"]: [("第一報", incident.triaged_at + days(1)), ("続報", None)]
    }
    prefecture = obligation_of(incident, rules, "prefecture")
    first = services.advance_stage(stage(prefecture, "第一報"), StageStatus.SENT, by=csirt)
    assert stage(prefecture, "続報").due_at == first.sent_at + days(14)


def test_a_critical_incident_is_also_reported_to_the_ministry(make_incident, triage):
    incident = triage(make_incident(), severity="critical")

    aware = incident.triaged_at
    assert obligations(incident) == {
        RULE_NAMES["prefecture"]: [("第一報", aware + days(1)), ("続報", None)],
        RULE_NAMES["mic"]: [("第一報", aware + days(1))],
    }


@pytest.mark.parametrize("category", ["cyber-attack", "insider-fraud"])
def test_a_suspected_crime_is_taken_to_the_police(make_incident, triage, category):
    incident = triage(make_incident(), category=category)

    assert obligations(incident) == {
        RULE_NAMES["police"]: [("相談・届出", incident.triaged_at + days(3))]
    }


@pytest.mark.parametrize("category", ["mistake", "rule-violation", "disaster"])
def test_an_incident_matching_no_rule_has_no_obligation(make_incident, triage, category):
    assert obligations(triage(make_incident(), category=category, severity="medium")) == {}


def test_an_untriaged_incident_has_no_obligation_yet(make_incident):
    incident = make_incident(personal_data=True, my_number=True)

    assert services.match_obligations(incident) == []
    assert obligations(incident) == {}


def test_an_inactive_rule_is_not_applied(make_incident, triage, rules):
    ObligationRule.objects.filter(pk=rules["ppc"].pk).update(active=False)

    assert obligations(triage(make_incident(personal_data=True))) == {}


def test_a_stage_counted_from_detection_runs_from_when_the_city_first_knew(
    make_incident, triage, rules
):
    StageRule.objects.filter(rule=rules["police"]).update(count_from=CountFrom.DETECTION)
    detected = timezone.now() - days(2)

    incident = triage(make_incident(), category="cyber-attack", detected_at=detected)

    assert obligations(incident) == {RULE_NAMES["police"]: [("相談・届出", detected + days(3))]}


def test_without_a_detection_time_the_clock_counts_from_the_report(make_incident, triage, rules):
    StageRule.objects.filter(rule=rules["police"]).update(count_from=CountFrom.DETECTION)

    incident = triage(make_incident(), category="cyber-attack")

    assert incident.detected_at == incident.reported_at
    assert obligations(incident) == {
        RULE_NAMES["police"]: [("相談・届出", incident.reported_at + days(3))]
    }


def test_a_rule_the_admin_edits_applies_to_the_next_triaged_incident(
    client, make_incident, triage, rules, people
):
    before = triage(make_incident(personal_data=True))
    admin = people["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    ppc = rules["ppc"]
    prompt, final = ppc.stages.order_by("order")

    response = client.post(
        f"/admin/incidents/obligationrule/{ppc.pk}/change/",
        {
            "authority": ppc.authority_id,
            "name": ppc.name,
            "basis": ppc.basis,
            "if_personal_data": "on",
            "min_severity": "",
            "min_affected_people": "",
            "configurable": "on",
            "active": "on",
            "stages-TOTAL_FORMS": "2",
            "stages-INITIAL_FORMS": "2",
            "stages-MIN_NUM_FORMS": "0",
            "stages-MAX_NUM_FORMS": "1000",
            **{
                f"stages-{n}-{field}": value
                for n, (row, days_) in enumerate([(prompt, 3), (final, 30)])
                for field, value in {
                    "id": row.pk,
                    "rule": ppc.pk,
                    "order": row.order,
                    "name": row.name,
                    "days": days_,
                    "count_from": row.count_from,
                }.items()
            },
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    after = triage(make_incident(personal_data=True, title="誤送信"))
    assert obligations(after)[ppc.name][0] == ("速報", after.triaged_at + days(3))
    # An incident already triaged keeps the clock it was given.
    assert obligations(before)[ppc.name][0] == ("速報", before.triaged_at + days(5))


def test_a_new_rule_applies_to_the_next_triaged_incident(make_incident, triage, rules):
    rule = ObligationRule.objects.create(
        authority=rules["ppc"].authority, name="大規模漏えいの報告", min_affected_people=1000
    )
    StageRule.objects.create(rule=rule, order=1, name="報告", days=2, count_from="awareness")

    small = triage(make_incident(), affected_people=999)
    large = triage(make_incident(title="名簿の流出"), affected_people=1000)

    assert obligations(small) == {}
    assert obligations(large) == {rule.name: [("報告", large.triaged_at + days(2))]}


# --- triage again ---------------------------------------------------------------------------


def test_triage_again_adds_what_the_new_facts_call_for_once(make_incident, triage, rules):
    incident = triage(make_incident())
    assert obligations(incident) == {}
    aware = incident.triaged_at

    incident = triage(incident, personal_data=True)
    incident = triage(incident, personal_data=True)
    incident = triage(incident, personal_data=True, severity="high")

    assert incident.triaged_at == aware
    assert obligations(incident) == {
        RULE_NAMES["ppc"]: [("速報", aware + days(5)), ("確報", aware + days(30))],
        RULE_NAMES["prefecture"]: [("第一報", aware + days(1)), ("続報", None)],
    }


def test_an_obligation_found_stays_when_the_facts_change_back(make_incident, triage):
    incident = triage(make_incident(personal_data=True))

    incident = triage(incident, personal_data=False)

    assert list(obligations(incident)) == [RULE_NAMES["ppc"]]


# --- deciding -------------------------------------------------------------------------------


@pytest.fixture
def ppc(make_incident, triage, rules):
    """The PPC obligation of an incident with personal data, still being assessed."""
    return obligation_of(triage(make_incident(personal_data=True)), rules, "ppc")


def written(obligation):
    return (
        TimelineEntry.objects.filter(incident=obligation.incident_id).count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize("reason", ["", "   "])
def test_not_required_needs_a_reason_and_writes_nothing_without_one(ppc, csirt, reason):
    before = written(ppc)

    with pytest.raises(ValidationError) as refused:
        services.decide(ppc, Decision.NOT_REQUIRED, by=csirt, reason=reason)

    assert "reason" in refused.value.message_dict
    ppc.refresh_from_db()
    assert (ppc.decision, ppc.reason, ppc.decided_by) == (Decision.ASSESSED, "", None)
    assert written(ppc) == before


def test_not_required_with_a_reason_is_recorded_on_the_timeline(ppc, csirt):
    services.decide(ppc, Decision.NOT_REQUIRED, by=csirt, reason=" 暗号化済みで漏えいのおそれなし ")

    ppc.refresh_from_db()
    assert (ppc.decision, ppc.reason, ppc.decided_by) == (
        Decision.NOT_REQUIRED,
        "暗号化済みで漏えいのおそれなし",
        csirt,
    )
    entry = TimelineEntry.objects.filter(incident=ppc.incident_id).last()
    assert "暗号化済みで漏えいのおそれなし" in entry.text


def test_a_decision_other_than_required_or_not_is_refused(ppc, csirt):
    with pytest.raises(ValidationError):
        services.decide(ppc, Decision.ASSESSED, by=csirt)


def test_a_report_already_sent_cannot_be_marked_not_required(ppc, csirt):
    services.advance_stage(stage(ppc, "速報"), StageStatus.SENT, by=csirt)

    with pytest.raises(WorkflowError):
        services.decide(ppc, Decision.NOT_REQUIRED, by=csirt, reason="結果的に不要だった")

    ppc.refresh_from_db()
    assert ppc.decision == Decision.REQUIRED


def test_a_report_marked_not_required_is_not_sent(ppc, csirt):
    services.decide(ppc, Decision.NOT_REQUIRED, by=csirt, reason="漏えいのおそれなし")

    with pytest.raises(WorkflowError):
        services.advance_stage(stage(ppc, "速報"), StageStatus.DRAFTED, by=csirt)
    assert stage(ppc, "速報").status == StageStatus.PENDING


# --- moving a report forward -----------------------------------------------------------------


def test_sending_a_report_records_when_and_makes_the_obligation_required(ppc, csirt):
    before = timezone.now()
    services.advance_stage(stage(ppc, "速報"), StageStatus.DRAFTED, by=csirt)
    ppc.refresh_from_db()
    assert (ppc.decision, ppc.decided_by) == (Decision.REQUIRED, csirt)
    assert stage(ppc, "速報").sent_at is None

    sent = services.advance_stage(stage(ppc, "速報"), StageStatus.SENT, by=csirt, note="様式で送付")

    assert sent.status == StageStatus.SENT
    assert before <= sent.sent_at <= timezone.now()
    assert stage(ppc, "速報").note == "様式で送付"

    acknowledged = services.advance_stage(stage(ppc, "速報"), StageStatus.ACKNOWLEDGED, by=csirt)
    assert acknowledged.sent_at == sent.sent_at
    assert acknowledged.acknowledged_at >= sent.sent_at


def test_a_report_may_be_acknowledged_straight_from_pending(ppc, csirt):
    done = services.advance_stage(stage(ppc, "速報"), StageStatus.ACKNOWLEDGED, by=csirt)

    assert done.sent_at is not None and done.acknowledged_at is not None


@pytest.mark.parametrize(
    ("already", "to"),
    [
        (StageStatus.DRAFTED, StageStatus.DRAFTED),
        (StageStatus.DRAFTED, StageStatus.PENDING),
        (StageStatus.SENT, StageStatus.SENT),
        (StageStatus.SENT, StageStatus.DRAFTED),
        (StageStatus.ACKNOWLEDGED, StageStatus.SENT),
    ],
)
def test_a_report_never_goes_back_or_stays(ppc, csirt, already, to):
    services.advance_stage(stage(ppc, "速報"), already, by=csirt)
    sent_at = stage(ppc, "速報").sent_at

    with pytest.raises(WorkflowError):
        services.advance_stage(stage(ppc, "速報"), to, by=csirt)

    assert (stage(ppc, "速報").status, stage(ppc, "速報").sent_at) == (already, sent_at)


def test_an_unknown_report_status_is_refused(ppc, csirt):
    with pytest.raises(WorkflowError):
        services.advance_stage(stage(ppc, "速報"), "withdrawn", by=csirt)


@pytest.mark.parametrize("to", [StageStatus.SENT, StageStatus.ACKNOWLEDGED])
def test_the_final_report_is_not_sent_before_the_prompt_one(ppc, csirt, to):
    with pytest.raises(WorkflowError):
        services.advance_stage(stage(ppc, "確報"), to, by=csirt)
    assert stage(ppc, "確報").status == StageStatus.PENDING

    # It may be drafted meanwhile, and sent once the prompt report has gone.
    services.advance_stage(stage(ppc, "確報"), StageStatus.DRAFTED, by=csirt)
    services.advance_stage(stage(ppc, "速報"), StageStatus.SENT, by=csirt)
    services.advance_stage(stage(ppc, "確報"), to, by=csirt)
    assert stage(ppc, "確報").status == to


def test_a_stage_counted_from_the_previous_one_waits_for_that_one(
    make_incident, triage, rules, csirt
):
    rule = ObligationRule.objects.create(
        authority=rules["prefecture"].authority, name="三段階の報告", min_severity="high"
    )
    for order, name, days_, count_from in [
        (1, "第一報", 1, CountFrom.AWARENESS),
        (2, "第二報", 7, CountFrom.AWARENESS),
        (3, "最終報", 14, CountFrom.PREVIOUS),
    ]:
        StageRule.objects.create(
            rule=rule, order=order, name=name, days=days_, count_from=count_from
        )
    incident = triage(make_incident(), severity="high")
    obligation = Obligation.objects.get(incident=incident, rule=rule)

    services.advance_stage(stage(obligation, "第一報"), StageStatus.SENT, by=csirt)
    assert stage(obligation, "最終報").due_at is None

    second = services.advance_stage(stage(obligation, "第二報"), StageStatus.SENT, by=csirt)
    assert stage(obligation, "最終報").due_at == second.sent_at + days(14)


def test_sending_a_stage_leaves_the_clocks_counted_from_awareness_alone(ppc, csirt):
    final_due = stage(ppc, "確報").due_at

    services.advance_stage(stage(ppc, "速報"), StageStatus.SENT, by=csirt)

    assert stage(ppc, "確報").due_at == final_due


# --- who may decide and send -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["csirt", "ciso", "admin"])
def test_the_handlers_decide_and_send_the_reports(ppc, who, role):
    services.advance_stage(stage(ppc, "速報"), StageStatus.SENT, by=who[role])
    services.decide(ppc, Decision.REQUIRED, by=who[role])

    ppc.refresh_from_db()
    assert (ppc.decision, ppc.decided_by) == (Decision.REQUIRED, who[role])
    assert stage(ppc, "速報").status == StageStatus.SENT


@pytest.mark.parametrize("role", ["staff", "chief", "head", "other_head", "auditor"])
def test_no_one_else_decides_or_sends_a_report(ppc, who, role):
    with pytest.raises(PermissionDenied):
        services.decide(ppc, Decision.NOT_REQUIRED, by=who[role], reason="不要")
    with pytest.raises(PermissionDenied):
        services.decide(ppc, Decision.REQUIRED, by=who[role])
    with pytest.raises(PermissionDenied):
        services.advance_stage(stage(ppc, "速報"), StageStatus.SENT, by=who[role])

    ppc.refresh_from_db()
    assert ppc.decision == Decision.ASSESSED
    assert stage(ppc, "速報").status == StageStatus.PENDING
