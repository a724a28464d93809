"""Incidents through the API, with the rules of the pages: anyone signed in (a monitoring
system with an API token too) reports; the reporter follows their report without its
handling; a department head reads the handling of their department's incidents once
triaged; the CSIRT, the CISO's office and the programme admin handle every incident and the
auditors read them all. Anyone else gets 404, never 403, for an incident. Bad input is a
400 with reasons that changes nothing.

The incidents of this file (tests/incident_helpers.py): 情報政策課's untriaged report and
its triaged, serious one (personal data: two reporting obligations), both reported by
staff_joho; 学校教育課's triaged one (personal data: one obligation), reported by
staff_kyoiku.
"""

import datetime
import hashlib

import pytest
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from incidents import access, services
from incidents.models import (
    Attachment,
    Contact,
    Drill,
    Incident,
    Obligation,
    ObligationStage,
    PostIncidentReview,
    StageStatus,
    Status,
    TimelineEntry,
)
from isms.tokens import issue_token

from .audit_helpers import PDF, upload
from .conftest import ROLES
from .factories import UserFactory
from .incident_helpers import csirt_fixture, make_incident_fixture  # noqa: F401

PERSONAS = [*ROLES, "csirt", "other_staff"]
SIGNED_IN = [role for role in PERSONAS if role != "anonymous"]
HANDLERS = {"csirt", "ciso", "admin"}
READERS = HANDLERS | {"auditor"}
EVERYONE = set(SIGNED_IN)

# Who lists (and retrieves) each incident, and who reads its handling.
SEES = {
    "somu_report": {"staff"} | READERS,
    "somu": {"staff", "head"} | READERS,
    "kyoiku": {"other_staff", "other_head"} | READERS,
}
READS_HANDLING = {
    "somu_report": READERS,
    "somu": {"head"} | READERS,
    "kyoiku": {"other_head"} | READERS,
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def api_as(people, csirt):
    """api_as("csirt") -> an API client authenticated as that persona (or anonymous)."""
    personas = {**people, "csirt": csirt}

    def make(role):
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(personas[role])
        return client

    return make


@pytest.fixture
def incidents(make_incident):
    return {
        "somu_report": make_incident("staff", "joho", title="不審なメールを開いた"),
        "somu": make_incident("staff", "joho", triaged=True, severity="high", personal_data=True),
        "kyoiku": make_incident(
            "other_staff", "gakko", triaged=True, personal_data=True, title="名簿の誤送信"
        ),
    }


def expected(role, sees, allowed, success):
    """The answer to `role`: 401 anonymous, 404 to those who may not see the incident,
    403 to those who see it but may not act, `success` to those who may."""
    if role == "anonymous":
        return 401
    if role not in sees:
        return 404
    return success if role in allowed else 403


def names(response, incidents):
    assert response.status_code == 200, response.content
    by_id = {incident.pk: name for name, incident in incidents.items()}
    return {by_id[row["id"]] for row in response.json()["results"]}


def is_iso_8601(value):
    return datetime.datetime.fromisoformat(value).tzinfo is not None


# Listing and reading --------------------------------------------------------------------


@pytest.mark.parametrize("role", SIGNED_IN)
def test_each_persona_lists_only_the_incidents_they_may_see(api_as, incidents, role):
    listed = names(api_as(role).get("/api/incidents/"), incidents)
    assert listed == {name for name, seers in SEES.items() if role in seers}


def test_anonymous_callers_get_nothing_from_any_incident_endpoint(api_as, incidents):
    client = api_as("anonymous")
    somu = incidents["somu"]
    for url in [
        "/api/incidents/",
        f"/api/incidents/{somu.pk}/",
        f"/api/incidents/{somu.pk}/entries/",
        "/api/obligations/",
        "/api/drills/",
        "/api/incident-categories/",
        "/api/contact-tree/",
    ]:
        assert client.get(url).status_code == 401, url
    response = client.post("/api/incidents/", new_report(), format="json")
    assert response.status_code == 401
    assert Incident.objects.count() == 3


@pytest.mark.parametrize("role", PERSONAS)
@pytest.mark.parametrize("name", list(SEES))
def test_an_incident_is_retrieved_by_those_who_see_it_and_not_found_by_others(
    api_as, incidents, name, role
):
    response = api_as(role).get(f"/api/incidents/{incidents[name].pk}/")
    assert response.status_code == expected(role, SEES[name], EVERYONE, 200)


@pytest.mark.parametrize("role", SIGNED_IN)
def test_the_handling_is_shown_only_to_those_who_read_it(api_as, incidents, people, csirt, role):
    rows = {row["id"]: row for row in api_as(role).get("/api/incidents/").json()["results"]}
    user = csirt if role == "csirt" else people[role]
    for name, incident in incidents.items():
        if incident.pk not in rows:
            continue
        reads = role in READS_HANDLING[name]
        assert reads == access.reads_details(user, incident)
        assert (rows[incident.pk]["handling"] is not None) == reads, name
        # The detail agrees with the list.
        one = api_as(role).get(f"/api/incidents/{incident.pk}/").json()
        assert (one["handling"] is not None) == reads, name


def test_the_reporter_follows_their_report_without_its_handling(api_as, incidents):
    body = api_as("staff").get(f"/api/incidents/{incidents['somu'].pk}/").json()
    assert body["status"] == "triaged"
    assert body["reported_by"] == "staff_joho"
    assert body["department"] == "joho"
    assert body["number"] == incidents["somu"].number
    assert body["handling"] is None
    assert "owner" not in body and "obligations" not in body


def test_the_head_reads_the_handling_with_the_obligations_and_their_clocks(api_as, incidents):
    body = api_as("head").get(f"/api/incidents/{incidents['somu'].pk}/").json()
    handling = body["handling"]
    assert (handling["owner"], handling["severity"], handling["category"]) == (
        "csirt_joho",
        "high",
        "mistake",
    )
    assert len(handling["obligations"]) == 2
    first_stage = handling["obligations"][0]["stages"][0]
    assert first_stage["status"] == "pending" and is_iso_8601(first_stage["due_at"])
    assert is_iso_8601(body["reported_at"]) and is_iso_8601(handling["detected_at"])


def test_an_untriaged_incident_shows_its_readers_a_blank_classification(api_as, incidents):
    body = api_as("auditor").get(f"/api/incidents/{incidents['somu_report'].pk}/").json()
    assert body["handling"]["severity"] == ""
    assert body["handling"]["owner"] is None
    assert body["handling"]["obligations"] == []


def test_a_heads_own_report_elsewhere_is_listed_without_its_handling(
    api_as,
    incidents,
    make_incident,
):
    elsewhere = make_incident("head", "gakko", triaged=True, title="出張先での紛失")
    rows = {row["id"]: row for row in api_as("head").get("/api/incidents/").json()["results"]}
    assert rows[elsewhere.pk]["handling"] is None
    assert rows[incidents["somu"].pk]["handling"] is not None


# Filters ------------------------------------------------------------------------------------


def test_incidents_filter_by_status(api_as, incidents):
    response = api_as("ciso").get("/api/incidents/", {"status": "reported"})
    assert names(response, incidents) == {"somu_report"}


@pytest.mark.parametrize(
    "role, query, listed",
    [
        ("ciso", {"severity": "high"}, {"somu"}),
        ("ciso", {"category": "mistake"}, {"somu", "kyoiku"}),
        ("head", {"severity": "high"}, {"somu"}),
        # The reporter does not read the classification, so cannot find it by filtering.
        ("staff", {"severity": "high"}, set()),
        ("staff", {"category": "mistake"}, set()),
    ],
)
def test_the_classification_filters_match_only_incidents_whose_handling_is_read(
    api_as, incidents, role, query, listed
):
    assert names(api_as(role).get("/api/incidents/", query), incidents) == listed


@pytest.mark.parametrize(
    "role, department, listed",
    [
        ("ciso", "somu", {"somu_report", "somu"}),  # 総務部 and its sections
        ("ciso", "mayor", {"somu_report", "somu"}),
        ("ciso", "gakko", {"kyoiku"}),
        ("head", "somu", {"somu"}),
        ("head", "joho", {"somu"}),
        ("staff", "joho", {"somu_report", "somu"}),
        ("other_head", "kyoiku", {"kyoiku"}),
    ],
)
def test_incidents_filter_by_department_and_the_units_below_it(
    api_as, incidents, role, department, listed
):
    response = api_as(role).get("/api/incidents/", {"department": department})
    assert names(response, incidents) == listed


@pytest.mark.parametrize(
    "role, department",
    [
        ("head", "kyoiku"),
        ("other_head", "somu"),
        ("staff", "gakko"),
        ("chief", "joho"),  # no incident of theirs anywhere
        ("ciso", "no-such-unit"),
    ],
)
def test_a_department_whose_incidents_the_caller_may_not_list_is_refused_like_an_unknown_one(
    api_as, incidents, role, department
):
    client = api_as(role)
    response = client.get("/api/incidents/", {"department": department})
    assert response.status_code == 400
    assert response.json()["department"]
    assert response.json() == client.get("/api/incidents/", {"department": "nowhere"}).json()


def test_incidents_filter_by_reported_time_in_iso_8601(api_as, incidents):
    Incident.objects.filter(pk=incidents["kyoiku"].pk).update(
        reported_at=datetime.datetime(2025, 4, 1, 9, 0, tzinfo=datetime.UTC)
    )
    client = api_as("auditor")
    after = client.get("/api/incidents/", {"reported_after": "2025-04-02T00:00:00+09:00"})
    assert names(after, incidents) == {"somu_report", "somu"}
    before = client.get("/api/incidents/", {"reported_before": "2025-04-01T18:30:00+09:00"})
    assert names(before, incidents) == {"kyoiku"}


def test_a_time_with_an_offset_postgresql_does_not_know_is_read_in_japans_time(api_as, incidents):
    response = api_as("ciso").get("/api/incidents/", {"reported_before": "2025-04-01T05:37-22:23"})
    assert names(response, incidents) == set()


@pytest.mark.parametrize(
    "query",
    [
        {"reported_after": "令和7年4月1日"},
        {"reported_before": "2025-13-01T00:00:00"},
        {"reported_after": "9999-12-31T23:00:00-05:00"},  # past the year 9999 in Japan
        {"status": "forgotten"},
        {"severity": "apocalyptic"},
        {"category": "no-such-category"},
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_parameter(api_as, incidents, query):
    response = api_as("ciso").get("/api/incidents/", query)
    assert response.status_code == 400
    assert set(response.json()) == set(query)


# Reporting ------------------------------------------------------------------------------------


def new_report(**changes):
    data = {
        "title": "USBメモリを紛失した",
        "description": "帰宅途中に紛失。住民の氏名を含む。",
        "occurred_at": (timezone.now() - datetime.timedelta(hours=2)).isoformat(),
        "department": "joho",
        "location": "市役所前バス停",
        "personal_data": True,
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("role", SIGNED_IN)
def test_anyone_signed_in_reports_an_incident(api_as, incidents, role):
    response = api_as(role).post("/api/incidents/", new_report(), format="json")
    assert response.status_code == 201, response.content
    created = Incident.objects.get(pk=response.json()["id"])
    assert created.status == Status.REPORTED
    assert created.personal_data is True
    assert (response.json()["handling"] is not None) == (role in READERS)
    assert created.timeline.get().kind == "detection"


def test_a_monitoring_system_files_an_incident_with_its_api_token(api_as, org, incidents):
    robot = UserFactory(username="monitoring", section=None)
    _token, key = issue_token(robot, name="監視システム")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    occurred = "2025-11-27T03:15:00+09:00"
    response = client.post(
        "/api/incidents/",
        new_report(
            title="IDS: 不正アクセスの兆候",
            occurred_at=occurred,
            department="somu",
            personal_data=False,
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reported_by"] == "monitoring"
    assert body["status"] == "reported"
    assert is_iso_8601(body["reported_at"]) and is_iso_8601(body["occurred_at"])
    assert datetime.datetime.fromisoformat(body["occurred_at"]) == datetime.datetime.fromisoformat(
        occurred
    )
    # The system follows what it filed, and nothing else.
    assert [row["id"] for row in client.get("/api/incidents/").json()["results"]] == [body["id"]]
    assert api_as("csirt").get(f"/api/incidents/{body['id']}/").status_code == 200


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"occurred_at": "2099-01-01T00:00:00+09:00"}, "occurred_at"),
        ({"occurred_at": "令和7年11月27日"}, "occurred_at"),
        ({"occurred_at": None}, "occurred_at"),
        ({"title": ""}, "title"),
        ({"title": "長" * 201}, "title"),
        ({"title": "NUL\x00"}, "title"),
        ({"department": "no-such-unit"}, "department"),
        ({"personal_data": "perhaps"}, "personal_data"),
    ],
)
def test_a_bad_report_is_refused_with_reasons_and_nothing_is_recorded(
    api_as, incidents, changes, field
):
    response = api_as("staff").post("/api/incidents/", new_report(**changes), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Incident.objects.count() == 3


# Handling: every action against every persona ------------------------------------------------


def recovered(incident, csirt):
    for step in (Status.CONTAINED, Status.ERADICATED, Status.RECOVERED):
        services.move(incident, step, by=csirt)
    return incident


def dismissed(incident, csirt):
    services.move(incident, Status.DISMISSED, by=csirt, note="誤検知")
    return incident


def as_is(incident, csirt):
    return incident


# action -> (prepare the 総務部 incident, path, body, who may, success)
ACTIONS = {
    "triage": (
        as_is,
        "triage/",
        {"category": "cyber-attack", "severity": "critical", "owner": "csirt_joho"},
        HANDLERS,
        200,
    ),
    "move": (as_is, "move/", {"to": "contained", "note": "端末を隔離"}, HANDLERS, 200),
    "reopen": (dismissed, "reopen/", {"reason": "同様の事象が再発"}, HANDLERS, 200),
    "entry": (as_is, "entries/", {"kind": "action", "text": "端末を隔離"}, HANDLERS, 201),
    "review": (
        recovered,
        "review/",
        {
            "causes": "持出し手続の不履行",
            "changes": [{"change": "持出し簿の電子化", "to_policy_review": True}],
        },
        HANDLERS,
        201,
    ),
}


@pytest.mark.parametrize("role", PERSONAS)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_only_the_handlers_act_on_an_incident_others_see_403_or_404(
    api_as,
    incidents,
    csirt,
    action,
    role,
):
    prepare, path, body, allowed, success = ACTIONS[action]
    incident = prepare(incidents["somu"], csirt)
    before = (Incident.objects.get(pk=incident.pk).status, TimelineEntry.objects.count())
    response = api_as(role).post(f"/api/incidents/{incident.pk}/{path}", body, format="json")
    assert response.status_code == expected(role, SEES["somu"], allowed, success), response.content
    after = (Incident.objects.get(pk=incident.pk).status, TimelineEntry.objects.count())
    assert (after != before) == (response.status_code == success)


def test_triage_classifies_names_the_owner_and_starts_the_clocks(api_as, incidents):
    report = incidents["somu_report"]
    response = api_as("csirt").post(
        f"/api/incidents/{report.pk}/triage/",
        {
            "category": "cyber-attack",
            "severity": "critical",
            "owner": "ciso",
            "affected_people": 120,
            "personal_data": True,
            "note": "標的型メールと判断",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    handling = response.json()["handling"]
    assert response.json()["status"] == "triaged"
    assert (handling["owner"], handling["category"], handling["affected_people"]) == (
        "ciso",
        "cyber-attack",
        120,
    )
    authorities = {o["authority"] for o in handling["obligations"]}
    assert {"個人情報保護委員会", "警察（サイバー犯罪相談窓口）", "総務省（地域情報化企画室）"} <= (
        authorities
    )
    assert report.timeline.last().text == "標的型メールと判断"


def test_the_handlers_move_an_incident_through_the_workflow(api_as, incidents):
    incident = incidents["kyoiku"]
    client = api_as("csirt")
    for step in ["contained", "eradicated", "recovered", "closed"]:
        response = client.post(f"/api/incidents/{incident.pk}/move/", {"to": step}, format="json")
        assert response.status_code == 200, (step, response.content)
        assert response.json()["status"] == step
    assert is_iso_8601(response.json()["closed_at"])


def test_a_serious_incident_is_reviewed_before_it_closes(api_as, incidents, csirt):
    incident = recovered(incidents["somu"], csirt)
    client = api_as("admin")
    response = client.post(f"/api/incidents/{incident.pk}/move/", {"to": "closed"}, format="json")
    assert response.status_code == 400
    response = client.post(
        f"/api/incidents/{incident.pk}/review/",
        {"causes": "持出し手続の不履行", "changes": [{"change": "持出し簿の電子化"}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["lessons"] == [{"change": "持出し簿の電子化", "to_policy_review": False}]
    response = client.post(f"/api/incidents/{incident.pk}/move/", {"to": "closed"}, format="json")
    assert response.status_code == 200
    assert response.json()["handling"]["review"]["causes"] == "持出し手続の不履行"


@pytest.mark.parametrize("role", PERSONAS)
def test_the_timeline_is_read_by_those_who_read_the_handling(api_as, incidents, role):
    response = api_as(role).get(f"/api/incidents/{incidents['somu'].pk}/entries/")
    assert response.status_code == expected(role, SEES["somu"], READS_HANDLING["somu"], 200)
    if response.status_code == 200:
        assert [entry["kind"] for entry in response.json()] == ["detection", "status"]


@pytest.mark.parametrize("role", PERSONAS)
def test_the_reporter_and_the_handlers_attach_files_to_an_open_incident(api_as, incidents, role):
    incident = incidents["somu"]
    response = api_as(role).post(
        f"/api/incidents/{incident.pk}/attachments/",
        {"file": upload("紛失届.pdf")},
        format="multipart",
    )
    status = expected(role, SEES["somu"], {"staff"} | HANDLERS, 201)
    assert response.status_code == status, response.content
    if status == 201:
        body = response.json()
        assert body["original_name"] == "紛失届.pdf"
        assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert Attachment.objects.get().incident == incident
    else:
        assert not Attachment.objects.exists()


# Bad input: a 400 with reasons, and nothing written -----------------------------------------


def unchanged(incident, entries):
    stored = Incident.objects.get(pk=incident.pk)
    return stored.status == incident.status and incident.timeline.count() == entries


@pytest.mark.parametrize(
    "owner",
    ["head_somu", "auditor", "nobody", "", None],  # not a handler, unknown, missing
)
def test_triage_with_an_owner_who_does_not_handle_incidents_is_refused(api_as, incidents, owner):
    report = incidents["somu_report"]
    response = api_as("csirt").post(
        f"/api/incidents/{report.pk}/triage/",
        {"category": "mistake", "severity": "high", "owner": owner, "personal_data": True},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["owner"]
    assert unchanged(report, 1)
    assert not Obligation.objects.filter(incident=report).exists()
    report.refresh_from_db()
    assert (report.owner, report.severity, report.triaged_at) == (None, "", None)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"category": "no-such-category"}, "category"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"affected_people": -1}, "affected_people"),
        ({"affected_assets": [10**9]}, "affected_assets"),
        ({"detected_at": "2099-01-01T00:00:00+09:00"}, "detected_at"),
    ],
)
def test_a_bad_triage_is_refused_with_reasons(api_as, incidents, body, field):
    report = incidents["somu_report"]
    data = {"category": "mistake", "severity": "high", "owner": "csirt_joho", **body}
    response = api_as("csirt").post(f"/api/incidents/{report.pk}/triage/", data, format="json")
    assert response.status_code == 400, response.content
    assert response.json()[field]
    assert unchanged(report, 1)


def test_an_asset_the_handler_may_not_see_is_refused_like_an_unknown_one(
    api_as, incidents, register
):
    response = api_as("csirt").post(
        f"/api/incidents/{incidents['somu'].pk}/triage/",
        {
            "category": "mistake",
            "severity": "high",
            "owner": "csirt_joho",
            "affected_assets": [register["gakko_confidential"].pk],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["affected_assets"]


@pytest.mark.parametrize("note", ["", "   "])
def test_dismissing_without_a_note_is_refused(api_as, incidents, note):
    report = incidents["somu_report"]
    response = api_as("csirt").post(
        f"/api/incidents/{report.pk}/move/", {"to": "dismissed", "note": note}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["note"]
    assert unchanged(report, 1)


@pytest.mark.parametrize("to", ["contained", "closed", "reviewed", "reported", "limbo"])
def test_a_move_the_workflow_does_not_allow_is_refused(api_as, incidents, to):
    report = incidents["somu_report"]
    response = api_as("csirt").post(f"/api/incidents/{report.pk}/move/", {"to": to}, format="json")
    assert response.status_code == 400
    assert response.json()
    assert unchanged(report, 1)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}])
def test_reopening_without_a_reason_is_refused(api_as, incidents, csirt, body):
    incident = dismissed(incidents["somu"], csirt)
    incident.refresh_from_db()
    entries = incident.timeline.count()
    response = api_as("csirt").post(f"/api/incidents/{incident.pk}/reopen/", body, format="json")
    assert response.status_code == 400
    assert response.json()["reason"]
    assert unchanged(incident, entries)


def test_an_open_incident_is_not_reopened(api_as, incidents):
    incident = incidents["somu"]
    response = api_as("csirt").post(
        f"/api/incidents/{incident.pk}/reopen/", {"reason": "念のため"}, format="json"
    )
    assert response.status_code == 400
    assert unchanged(incident, 2)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "status", "text": "手で書いた状態変更"}, "kind"),
        ({"kind": "gossip", "text": "うわさ"}, "kind"),
        ({"kind": "action", "text": ""}, "text"),
        ({"kind": "action", "text": "   "}, "text"),
    ],
)
def test_a_bad_timeline_entry_is_refused(api_as, incidents, body, field):
    incident = incidents["somu"]
    response = api_as("csirt").post(f"/api/incidents/{incident.pk}/entries/", body, format="json")
    assert response.status_code == 400
    assert response.json()[field]
    assert incident.timeline.count() == 2


def test_a_serious_incident_is_not_reviewed_without_what_to_change(api_as, incidents, csirt):
    incident = recovered(incidents["somu"], csirt)
    response = api_as("csirt").post(
        f"/api/incidents/{incident.pk}/review/", {"causes": "手順の不備"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["changes"]
    assert not PostIncidentReview.objects.exists()
    incident.refresh_from_db()
    assert incident.status == Status.RECOVERED


# Attachments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content",
    [
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("fake.pdf", b"plain text pretending to be a PDF"),
        ("photo.jpg", PDF),
        ("README", PDF),
    ],
)
def test_an_attachment_of_a_refused_type_or_content_is_a_400(
    api_as, incidents, media, name, content
):
    response = api_as("staff").post(
        f"/api/incidents/{incidents['somu'].pk}/attachments/",
        {"file": upload(name, content)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["file"]
    assert not Attachment.objects.exists()
    assert not (media / "evidence").exists()


def test_an_upload_without_a_file_is_a_400(api_as, incidents):
    response = api_as("staff").post(
        f"/api/incidents/{incidents['somu'].pk}/attachments/",
        {"note": "忘れた"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "file" in response.json()


def test_the_reporter_adds_no_file_once_the_incident_is_closed(api_as, incidents, csirt):
    dismissed(incidents["somu"], csirt)
    response = api_as("staff").post(
        f"/api/incidents/{incidents['somu'].pk}/attachments/",
        {"file": upload()},
        format="multipart",
    )
    assert response.status_code == 403
    assert not Attachment.objects.exists()


@pytest.fixture
def attachment(incidents, people):
    return services.attach(incidents["somu"], upload("紛失届.pdf"), by=people["staff"])


@pytest.mark.parametrize("role", PERSONAS)
def test_an_attachment_is_read_and_downloaded_only_by_those_who_see_its_incident(
    api_as, attachment, role
):
    client = api_as(role)
    status = expected(role, SEES["somu"], EVERYONE, 200)
    response = client.get(f"/api/incident-attachments/{attachment.pk}/")
    assert response.status_code == status
    if status == 200:
        assert response.json()["sha256"] == attachment.sha256
    response = client.get(f"/api/incident-attachments/{attachment.pk}/download/")
    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == PDF


def test_the_attachments_are_listed_with_the_incident(api_as, attachment):
    body = api_as("staff").get(f"/api/incidents/{attachment.incident_id}/").json()
    assert [a["id"] for a in body["attachments"]] == [attachment.pk]


UNKNOWN_ID = 10**9


@pytest.mark.parametrize(
    "role, url",
    [
        ("other_head", "/api/incidents/{}/"),
        ("chief", "/api/incidents/{}/triage/"),
        ("other_staff", "/api/incident-attachments/{}/"),
        ("other_head", "/api/incident-attachments/{}/download/"),
        ("staff", "/api/obligations/{}/"),
        ("staff", "/api/report-stages/{}/"),
    ],
)
def test_what_the_caller_may_not_see_answers_exactly_like_what_does_not_exist(
    api_as, incidents, attachment, obligation, stage, role, url
):
    hidden = {
        "incidents": incidents["somu"].pk,
        "incident-attachments": attachment.pk,
        "obligations": obligation.pk,
        "report-stages": stage.pk,
    }[url.split("/")[2]]
    client = api_as(role)
    method = client.post if url.endswith("triage/") else client.get
    seen, unknown = method(url.format(hidden)), method(url.format(UNKNOWN_ID))
    assert seen.status_code == unknown.status_code == 404
    assert seen.json() == unknown.json()


@pytest.mark.parametrize("object_id", ["abc", "1.5", "²", "9" * 30])
@pytest.mark.parametrize(
    "url",
    [
        "/api/incident-attachments/{}/download/",
        "/api/incidents/{}/",
        "/api/incidents/{}/entries/",
        "/api/obligations/{}/",
        "/api/report-stages/{}/",
    ],
)
def test_a_malformed_or_unknown_id_is_404(api_as, attachment, url, object_id):
    assert api_as("csirt").get(url.format(object_id)).status_code == 404


# Reporting obligations and their stages ---------------------------------------------------------


@pytest.fixture
def obligation(incidents):
    """総務部's obligation to the Personal Information Protection Commission."""
    return Obligation.objects.get(incident=incidents["somu"], rule__authority__code="ppc")


@pytest.fixture
def stage(obligation):
    """Its prompt report (速報)."""
    return obligation.stages.order_by("stage_rule__order").first()


@pytest.mark.parametrize("role", SIGNED_IN)
def test_obligations_are_listed_to_those_who_read_the_handling(api_as, incidents, role):
    response = api_as(role).get("/api/obligations/")
    assert response.status_code == 200
    incident_of = {incident.pk: name for name, incident in incidents.items()}
    listed = [incident_of[row["incident"]] for row in response.json()["results"]]
    wanted = {"somu": 2, "kyoiku": 1}
    assert sorted(listed) == sorted(
        name for name, count in wanted.items() if role in READS_HANDLING[name] for _ in range(count)
    )


@pytest.mark.parametrize("role", PERSONAS)
def test_an_obligation_and_its_stage_are_retrieved_only_by_those_who_read_the_handling(
    api_as, obligation, stage, role
):
    client = api_as(role)
    status = expected(role, READS_HANDLING["somu"], EVERYONE, 200)
    response = client.get(f"/api/obligations/{obligation.pk}/")
    assert response.status_code == status
    if status == 200:
        assert [s["name"] for s in response.json()["stages"]] == ["速報", "確報"]
        assert all(is_iso_8601(s["due_at"]) for s in response.json()["stages"])
    assert client.get(f"/api/report-stages/{stage.pk}/").status_code == status


def test_obligations_filter_by_incident_the_caller_reads(api_as, incidents):
    client = api_as("head")
    response = client.get("/api/obligations/", {"incident": incidents["somu"].pk})
    assert response.json()["count"] == 2
    response = client.get("/api/obligations/", {"incident": incidents["kyoiku"].pk})
    assert response.status_code == 400
    assert response.json()["incident"]


@pytest.mark.parametrize("role", PERSONAS)
def test_only_the_handlers_decide_an_obligation(api_as, obligation, role):
    response = api_as(role).post(
        f"/api/obligations/{obligation.pk}/decide/", {"decision": "required"}, format="json"
    )
    assert response.status_code == expected(role, READS_HANDLING["somu"], HANDLERS, 200)
    obligation.refresh_from_db()
    assert (obligation.decision == "required") == (response.status_code == 200)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"decision": "not_required"}, "reason"),
        ({"decision": "not_required", "reason": "  "}, "reason"),
        ({"decision": "assessed"}, "decision"),
        ({"decision": "maybe"}, "decision"),
    ],
)
def test_a_bad_decision_is_refused_with_reasons(api_as, obligation, body, field):
    response = api_as("csirt").post(
        f"/api/obligations/{obligation.pk}/decide/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()[field]
    obligation.refresh_from_db()
    assert obligation.decision == "assessed"


def test_the_csirt_marks_an_obligation_not_required_with_a_reason(api_as, obligation):
    response = api_as("csirt").post(
        f"/api/obligations/{obligation.pk}/decide/",
        {"decision": "not_required", "reason": "暗号化済みで漏えいのおそれなし"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["decision"], response.json()["decided_by"]) == (
        "not_required",
        "csirt_joho",
    )


@pytest.mark.parametrize("role", PERSONAS)
def test_only_the_handlers_advance_a_report_stage(api_as, stage, role):
    response = api_as(role).post(
        f"/api/report-stages/{stage.pk}/advance/", {"status": "drafted"}, format="json"
    )
    assert response.status_code == expected(role, READS_HANDLING["somu"], HANDLERS, 200)
    stage.refresh_from_db()
    assert (stage.status == StageStatus.DRAFTED) == (response.status_code == 200)


def test_a_report_sent_stops_its_clock_and_sending_it_twice_is_refused(api_as, stage):
    client = api_as("csirt")
    response = client.post(
        f"/api/report-stages/{stage.pk}/advance/",
        {"status": "sent", "note": "フォームで送信"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert is_iso_8601(response.json()["sent_at"])
    entries = TimelineEntry.objects.count()
    response = client.post(
        f"/api/report-stages/{stage.pk}/advance/", {"status": "sent"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    assert TimelineEntry.objects.count() == entries
    stage.refresh_from_db()
    assert stage.status == StageStatus.SENT and stage.note == "フォームで送信"


@pytest.mark.parametrize("status", ["pending", "published", ""])
def test_a_stage_never_goes_back_or_to_an_unknown_status(api_as, stage, status):
    response = api_as("csirt").post(
        f"/api/report-stages/{stage.pk}/advance/", {"status": status}, format="json"
    )
    assert response.status_code == 400
    assert ObligationStage.objects.get(pk=stage.pk).status == StageStatus.PENDING


# Drills, categories, the contact tree ---------------------------------------------------------


@pytest.fixture
def drill(csirt):
    return services.record_drill(
        by=csirt,
        held_on=datetime.date(2025, 10, 1),
        scenario="ランサムウェア感染",
        participants="CSIRT、情報政策課",
    )


@pytest.mark.parametrize("role", PERSONAS)
def test_drills_are_read_by_the_handlers_and_the_auditors(api_as, drill, role):
    client = api_as(role)
    status = expected(role, EVERYONE, READERS, 200)
    response = client.get("/api/drills/")
    assert response.status_code == status
    if status == 200:
        assert [row["scenario"] for row in response.json()["results"]] == ["ランサムウェア感染"]
    assert client.get(f"/api/drills/{drill.pk}/").status_code == status


def new_drill(**changes):
    return {
        "held_on": "2025-11-01",
        "scenario": "庁内ネットワークの停止",
        "participants": "CSIRT、各部の情報セキュリティ責任者",
        "lessons": "連絡網の更新が必要",
        **changes,
    }


@pytest.mark.parametrize("role", PERSONAS)
def test_only_the_handlers_record_a_drill(api_as, role):
    response = api_as(role).post("/api/drills/", new_drill(), format="json")
    assert response.status_code == expected(role, EVERYONE, HANDLERS, 201)
    assert Drill.objects.exists() == (response.status_code == 201)
    if response.status_code == 201:
        assert response.json()["held_on"] == "2025-11-01"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"held_on": "2099-01-01"}, "held_on"),
        ({"held_on": "令和7年11月1日"}, "held_on"),
        ({"scenario": ""}, "scenario"),
        ({"participants": ""}, "participants"),
    ],
)
def test_a_bad_drill_is_refused_with_reasons(api_as, changes, field):
    response = api_as("csirt").post("/api/drills/", new_drill(**changes), format="json")
    assert response.status_code == 400
    assert response.json()[field]
    assert not Drill.objects.exists()


@pytest.mark.parametrize("role", PERSONAS)
def test_the_categories_are_listed_to_anyone_signed_in(api_as, incidents, role):
    response = api_as(role).get("/api/incident-categories/")
    assert response.status_code == (401 if role == "anonymous" else 200)
    if role != "anonymous":
        assert "mistake" in [row["code"] for row in response.json()]


@pytest.mark.parametrize("role", PERSONAS)
def test_the_contact_tree_is_read_by_the_handlers_and_the_auditors(api_as, people, csirt, role):
    Contact.objects.create(
        order=1, duty="CSIRT責任者", person=csirt, deputy=people["admin"], phone="内線1234"
    )
    response = api_as(role).get("/api/contact-tree/")
    assert response.status_code == expected(role, EVERYONE, READERS, 200)
    if response.status_code == 200:
        assert [(c["person"], c["deputy"], c["phone"]) for c in response.json()] == [
            ("csirt_joho", "admin", "内線1234")
        ]


# Bounded queries ----------------------------------------------------------------------------------

SMALL, LARGE = 3, 60
# Measured: 6 (the count, the page, and the prefetched affected assets, attachments,
# obligations and their stages); the lessons of reviewed incidents add one; one to spare.
# A query per row would overshoot by fifty.
INCIDENT_LIST_QUERIES = 8


def add_incidents(template, count):
    """`count` copies of the triaged `template`, each with its obligations and stages."""
    obligations = list(template.obligations.prefetch_related("stages"))
    copies = Incident.objects.bulk_create(
        Incident(
            title=f"{template.title} {n}",
            occurred_at=template.occurred_at,
            department_id=template.department_id,
            reported_by_id=template.reported_by_id,
            status=template.status,
            category_id=template.category_id,
            severity=template.severity,
            owner_id=template.owner_id,
            detected_at=template.detected_at,
            triaged_at=template.triaged_at,
        )
        for n in range(count)
    )
    new = Obligation.objects.bulk_create(
        Obligation(incident=copy, rule_id=obligation.rule_id)
        for copy in copies
        for obligation in obligations
    )
    rules = {obligation.rule_id: obligation for obligation in obligations}
    ObligationStage.objects.bulk_create(
        ObligationStage(
            obligation=made, stage_rule_id=stage.stage_rule_id, name=stage.name, due_at=stage.due_at
        )
        for made in new
        for stage in rules[made.rule_id].stages.all()
    )


@pytest.mark.parametrize("role", ["head", "staff", "ciso", "csirt"])
def test_the_incident_list_runs_the_same_queries_for_3_and_60_incidents(
    api_as, incidents, role, django_assert_max_num_queries
):
    client = api_as(role)
    client.get("/api/incidents/")  # the person's roles, read once per request's user
    with django_assert_max_num_queries(INCIDENT_LIST_QUERIES) as small:
        response = client.get("/api/incidents/")
    assert response.status_code == 200
    add_incidents(incidents["somu"], LARGE - SMALL)
    with django_assert_max_num_queries(INCIDENT_LIST_QUERIES) as large:
        response = client.get("/api/incidents/")
    assert response.status_code == 200
    assert len(response.json()["results"]) > SMALL
    assert len(large) == len(small)


# The schema ------------------------------------------------------------------------------------


def test_the_schema_documents_the_incident_endpoints(api_as, people):
    paths = yaml.safe_load(api_as("staff").get("/api/schema/").content)["paths"]
    for path in [
        "/api/incidents/",
        "/api/incidents/{id}/",
        "/api/incidents/{id}/triage/",
        "/api/incidents/{id}/move/",
        "/api/incidents/{id}/reopen/",
        "/api/incidents/{id}/entries/",
        "/api/incidents/{id}/attachments/",
        "/api/incidents/{id}/review/",
        "/api/incident-attachments/{id}/download/",
        "/api/obligations/{id}/decide/",
        "/api/report-stages/{id}/advance/",
        "/api/drills/",
        "/api/incident-categories/",
        "/api/contact-tree/",
    ]:
        assert path in paths, path
    filters = {p["name"] for p in paths["/api/incidents/"]["get"]["parameters"]}
    assert {"status", "severity", "category", "department", "reported_after"} <= filters
