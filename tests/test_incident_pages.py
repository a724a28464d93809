"""The incident pages for every persona: anyone signed in reports (the header's link, a
form that works for a person with no other rights) and sees their own reports; the CSIRT,
the CISO's office and the auditors see every incident, a head sees their department's once
triaged, no one else sees anything — not on a page, in a list, a filter, a count, an export
or a file download."""

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents import services
from incidents.models import Category, Incident, Severity, Status

from .conftest import ROLES
from .factories import UserFactory
from .incident_helpers import csirt_fixture  # noqa: F401
from .pages import is_login_redirect, main_text, messages, page

PERSONAS = [*ROLES, "csirt", "other_staff", "staff_somuka"]
READERS = {"csirt", "ciso", "admin", "auditor"}
HANDLERS = {"csirt", "ciso", "admin"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def login(client, people, csirt):
    def as_(role):
        client.logout()
        if role != "anonymous":
            client.force_login(csirt if role == "csirt" else people[role])
        return client

    return as_


@pytest.fixture
def world(people, org, csirt):
    """somu: a triaged USB loss reported by staff (joho) with a file, an untriaged report by
    staff_somuka; kyoiku: a triaged mis-sent mail reported by other_staff."""
    now = timezone.now()
    usb = services.report(
        people["staff"],
        title="USBメモリ紛失",
        occurred_at=now - datetime.timedelta(hours=5),
        department=org["joho"],
        personal_data=True,
        files=[SimpleUploadedFile("note.txt", b"lost on the bus", "text/plain")],
    )
    services.triage(
        usb,
        by=csirt,
        category=Category.objects.get(code="mistake"),
        severity=Severity.HIGH,
        owner=csirt,
    )
    fresh = services.report(
        people["staff_somuka"],
        title="不審なメール",
        occurred_at=now - datetime.timedelta(hours=1),
        department=org["somuka"],
    )
    mail = services.report(
        people["other_staff"],
        title="誤送信",
        occurred_at=now - datetime.timedelta(days=1),
        department=org["gakko"],
    )
    services.triage(
        mail,
        by=csirt,
        category=Category.objects.get(code="mistake"),
        severity=Severity.LOW,
        owner=csirt,
    )
    return {"usb": usb, "fresh": fresh, "mail": mail}


# Which incidents each persona sees.
SEES = {
    "staff": {"usb"},
    "staff_somuka": {"fresh"},
    "other_staff": {"mail"},
    "chief": set(),
    "head": {"usb"},  # somu's triaged one, not the untriaged report
    "other_head": {"mail"},
    "auditor": {"usb", "fresh", "mail"},
    "ciso": {"usb", "fresh", "mail"},
    "admin": {"usb", "fresh", "mail"},
    "csirt": {"usb", "fresh", "mail"},
}


@pytest.mark.parametrize("role", [r for r in PERSONAS if r != "anonymous"])
def test_the_list_shows_each_persona_exactly_the_incidents_they_may_see(world, login, role):
    response = login(role).get("/incidents/")
    assert response.status_code == 200
    shown = {key for key, incident in world.items() if incident.title in main_text(response)}
    assert shown == SEES[role]


@pytest.mark.parametrize("role", [r for r in PERSONAS if r != "anonymous"])
def test_an_incident_page_opens_for_those_who_may_see_it_and_is_not_found_for_others(
    world, login, role
):
    client = login(role)
    for key, incident in world.items():
        expected = 200 if key in SEES[role] else 404
        assert client.get(f"/incidents/{incident.pk}/").status_code == expected, key


@pytest.mark.parametrize(
    "path", ["/incidents/", "/incidents/report/", "/incidents/plan/", "/incidents/1/"]
)
def test_anonymous_visitors_are_sent_to_log_in(world, login, path):
    assert is_login_redirect(login("anonymous").get(path), path)


@pytest.mark.parametrize("role", [r for r in PERSONAS if r != "anonymous"])
def test_every_signed_in_person_finds_the_report_link_in_the_header(login, role):
    response = login(role).get("/incidents/report/")
    assert response.status_code == 200
    header = page(response).find(testid="header-action")
    assert header is not None and header.attrs["href"] == "/incidents/report/"


def test_a_person_with_no_role_reports_and_lands_on_their_report(client, org, csirt):
    newcomer = UserFactory(username="newcomer", section=org["gakko"])
    client.force_login(newcomer)
    when = (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/incidents/report/",
        {
            "title": "USBメモリを紛失",
            "occurred_at": when,
            "department": org["gakko"].pk,
            "personal_data": "on",
            "description": "バスの中で",
        },
        follow=True,
    )
    incident = Incident.objects.get()
    assert response.redirect_chain[-1][0] == f"/incidents/{incident.pk}/"
    assert incident.reported_by == newcomer and incident.personal_data
    assert messages(response)[0][0] == "success"
    # The reporter sees their report's progress, not the handling.
    assert page(response).find(testid="obligations") is None


def test_a_report_with_errors_keeps_what_was_typed(login, org):
    response = login("staff").post(
        "/incidents/report/",
        {
            "title": "",
            "occurred_at": "2999-01-01T10:00",
            "department": org["joho"].pk,
            "description": "バスの中で紛失",
        },
    )
    assert response.status_code == 200
    dom = page(response)
    assert dom.find(testid="error-summary") is not None
    assert "バスの中で紛失" in response.content.decode()
    assert not Incident.objects.exists()


def test_a_file_of_the_wrong_type_is_refused_and_nothing_is_reported(login, org):
    response = login("staff").post(
        "/incidents/report/",
        {
            "title": "紛失",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "department": org["joho"].pk,
            "files": SimpleUploadedFile("virus.exe", b"MZ\x90\x00", "application/octet-stream"),
        },
    )
    assert response.status_code == 200
    assert not Incident.objects.exists()


@pytest.mark.parametrize("role", [r for r in PERSONAS if r != "anonymous"])
def test_attachments_download_only_for_those_who_see_the_incident(world, login, role):
    attachment = world["usb"].attachments.get()
    response = login(role).get(f"/incidents/attachments/{attachment.pk}/")
    if "usb" in SEES[role]:
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"lost on the bus"
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("role", [r for r in PERSONAS if r != "anonymous"])
def test_only_handlers_see_the_handling_forms_and_the_contact_tree(world, login, role):
    dom = page(login(role).get(f"/incidents/{world['usb'].pk}/")) if "usb" in SEES[role] else None
    if dom is None:
        return
    forms = {f.attrs.get("data-testid") for f in dom.find_all("form")}
    assert ("move-form" in forms) == (role in HANDLERS)
    assert ("Contact tree" in dom.text or "連絡体制" in dom.text) == (role in HANDLERS)
    # Readers and the department's head see the obligations; the reporter does not.
    assert (dom.find(testid="obligations") is not None) == (role in READERS or role == "head")


@pytest.mark.parametrize("role", [r for r in PERSONAS if r not in HANDLERS and r != "anonymous"])
def test_no_one_but_a_handler_can_act_on_an_incident_even_with_the_url(world, login, role):
    usb = world["usb"]
    client = login(role)
    for action, data in [
        ("move", {"to": "contained"}),
        ("entry", {"kind": "action", "text": "x"}),
        ("reopen", {"reason": "x"}),
    ]:
        response = client.post(f"/incidents/{usb.pk}/{action}/", data)
        assert response.status_code in (403, 404), action
    stage = usb.obligations.first().stages.first()
    assert (
        client.post(f"/incidents/report-stages/{stage.pk}/advance/", {"status": "sent"}).status_code
        == 403
    )
    obligation = usb.obligations.first()
    decide = client.post(
        f"/incidents/obligations/{obligation.pk}/decide/",
        {"decision": "not_required", "reason": "x"},
    )
    assert decide.status_code == 403
    obligation.refresh_from_db()
    assert obligation.decision == "assessed"
    usb.refresh_from_db()
    assert usb.status == Status.TRIAGED
    assert not stage.__class__.objects.filter(pk=stage.pk, status="sent").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/{usb}/move/",
        "/incidents/obligations/{obligation}/decide/",
        "/incidents/report-stages/{stage}/advance/",
        "/incidents/report/",
        "/incidents/plan/",
    ],
)
def test_anonymous_posts_change_nothing_and_are_sent_to_log_in(world, login, path):
    usb = world["usb"]
    obligation = usb.obligations.first()
    url = path.format(usb=usb.pk, obligation=obligation.pk, stage=obligation.stages.first().pk)
    before = (Incident.objects.count(), usb.timeline.count())
    response = login("anonymous").post(url, {"to": "contained", "status": "sent"})
    assert is_login_redirect(response, url)
    assert (Incident.objects.count(), usb.timeline.count()) == before


def test_the_csirt_moves_an_incident_on_the_page(world, login):
    usb = world["usb"]
    response = login("csirt").post(
        f"/incidents/{usb.pk}/move/", {"to": "contained", "note": "端末を回収"}, follow=True
    )
    usb.refresh_from_db()
    assert usb.status == Status.CONTAINED
    assert page(response).find(testid="incident-status").text.strip()


def test_dismissing_without_a_reason_shows_the_error_beside_the_note(world, login):
    fresh = world["fresh"]
    response = login("csirt").post(f"/incidents/{fresh.pk}/move/", {"to": "dismissed", "note": ""})
    assert response.status_code == 200
    dom = page(response)
    assert dom.find(testid="error-summary") is not None
    fresh.refresh_from_db()
    assert fresh.status == Status.REPORTED


def test_marking_the_report_sent_on_the_page_stops_its_clock(world, login):
    stage = (
        world["usb"].obligations.get(rule__authority__code="ppc").stages.get(stage_rule__order=1)
    )
    response = login("csirt").post(
        f"/incidents/report-stages/{stage.pk}/advance/", {"status": "sent"}, follow=True
    )
    stage.refresh_from_db()
    assert stage.status == "sent" and stage.sent_at is not None
    assert messages(response)[0][0] == "success"


def test_sending_the_final_report_before_the_prompt_one_is_refused_with_a_message(world, login):
    final = (
        world["usb"].obligations.get(rule__authority__code="ppc").stages.get(stage_rule__order=2)
    )
    response = login("csirt").post(
        f"/incidents/report-stages/{final.pk}/advance/", {"status": "sent"}, follow=True
    )
    final.refresh_from_db()
    assert final.status == "pending"
    assert messages(response)[0][0] == "error"


@pytest.mark.parametrize("role", [r for r in PERSONAS if r != "anonymous"])
def test_the_export_holds_exactly_the_incidents_the_list_shows(world, login, role):
    response = login(role).get("/incidents/?format=xlsx")
    if role not in READERS and role not in {"head", "other_head"}:
        # Reporters get their list page, never a file of others' reports.
        assert response["Content-Type"].startswith("text/html")
        return
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    titles = {row[1] for row in book.active.iter_rows(min_row=2, values_only=True)}
    assert titles == {world[key].title for key in SEES[role]}


def test_the_department_filter_offers_a_head_only_their_department(world, login, org):
    dom = page(login("head").get("/incidents/"))
    options = {o.text.strip() for o in dom.find("select", name="department").find_all("option")}
    assert "総務部" in options and "教育部" not in options


def test_a_filter_for_another_department_is_a_field_error_not_a_leak(world, login, org):
    response = login("head").get(f"/incidents/?department={org['kyoiku'].pk}")
    assert response.status_code == 200
    assert "誤送信" not in main_text(response)


@pytest.mark.parametrize("role", [r for r in PERSONAS if r != "anonymous"])
def test_the_emergency_plan_page_is_for_readers_and_drills_are_recorded_by_handlers(login, role):
    client = login(role)
    response = client.get("/incidents/plan/")
    assert response.status_code == (200 if role in READERS else 403)
    today = timezone.localdate().isoformat()
    posted = client.post(
        "/incidents/plan/",
        {"held_on": today, "scenario": "標的型メール訓練", "participants": "CSIRT 5名"},
    )
    if role in HANDLERS:
        assert posted.status_code == 302
    else:
        assert posted.status_code == 403


def test_the_incident_list_stays_within_a_fixed_number_of_queries(
    world, login, org, people, django_assert_max_num_queries
):
    Incident.objects.bulk_create(
        Incident(
            title=f"事案{n}",
            occurred_at=timezone.now(),
            department=org["joho"],
            reported_by=people["staff"],
        )
        for n in range(120)
    )
    client = login("csirt")
    with django_assert_max_num_queries(12):
        assert client.get("/incidents/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/incidents/?page=2&status=reported").status_code == 200


def dashboard_table(response, key):
    found = page(response).find("table", testid=f"table-{key}")
    if found is None:
        return None
    return {
        tr.find("th").text: tr.find("td", testid="value").text
        for tr in found.find("tbody").find_all("tr")
    }


@pytest.mark.parametrize("role", ["ciso", "admin", "auditor"])
def test_the_citywide_dashboard_counts_triaged_incidents_per_department(world, login, role):
    response = login(role).get("/dashboard/")
    # The untriaged report of 総務課 is not counted until the CSIRT has looked at it.
    assert dashboard_table(response, "incidents-department") == {"総務部": "1", "教育部": "1"}
    assert dashboard_table(response, "incidents-category") == {"操作・設定ミス・紛失": "2"}


def test_a_heads_dashboard_counts_only_their_departments_incidents(world, login):
    response = login("head").get("/dashboard/")
    assert dashboard_table(response, "incidents-department") == {"情報政策課": "1"}
    months = dashboard_table(response, "incidents-month")
    assert sum(int(value) for value in months.values()) == 1


def test_the_other_heads_dashboard_shows_nothing_of_somu(world, login):
    response = login("other_head").get("/dashboard/")
    assert dashboard_table(response, "incidents-department") == {"学校教育課": "1"}
