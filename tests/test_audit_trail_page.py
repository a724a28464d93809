"""The audit trail as the oversight roles read it: the portal's page with its filters, and the
Django admin, where the trail can be read but never added to, changed or deleted."""

import datetime
from typing import NamedTuple

import pytest
from django.utils import timezone

from acknowledgements.models import Acknowledgement, AcknowledgementCampaign
from isms import audit
from isms.eras import to_era
from isms.models import AuditAction, AuditEvent, PolicyRevision

from .conftest import ROLES
from .factories import UserFactory
from .pages import is_login_redirect, links, page

READERS = {"admin", "ciso", "auditor"}


def era_datetime(value):
    local = timezone.localtime(value)
    return f"{to_era(local.date())} {local:%H:%M}"


class Row(NamedTuple):
    time: str
    sentence: str
    action: str
    details: str
    address: str


def trail_rows(response):
    """(time, sentence, action code, details, IP address) of each event the page lists."""
    trail = page(response).find("ol", testid="audit-trail")
    if trail is None:
        return []
    rows = []
    for li in trail.find_all("li", testid="event"):
        details = li.find(testid="event-details")
        changes = li.find(testid="event-changes")
        address = li.find(testid="event-ip")
        rows.append(
            Row(
                li.find(testid="event-time").text,
                li.find(testid="event-sentence").text,
                li.attrs["data-action"],
                " ".join(node.text for node in (changes, details) if node is not None),
                address.text.split()[-1] if address else "",
            )
        )
    return rows


def actions(response):
    return [row.action for row in trail_rows(response)]


def field_error(response, name):
    """The error shown beside a filter, and whether the error summary lists it."""
    form = page(response).find("form", testid="audit-filters")
    error = form.find("p", cls="error", id=f"id_{name}_error")
    summary = page(response).find(testid="error-summary")
    return error.text if error else None, summary is not None and f"#id_{name}" in [
        a.attrs.get("href") for a in summary.find_all("a")
    ]


# --- who may read the trail --------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ROLES, "other_staff"])
def test_the_audit_trail_is_for_the_admin_the_ciso_and_the_auditor(as_role, documents, role):
    response = as_role(role).get("/audit-trail/")

    if role == "anonymous":
        assert is_login_redirect(response, "/audit-trail/")
    elif role in READERS:
        assert response.status_code == 200
        assert "revision.published" in actions(response)
    else:
        assert response.status_code == 403
        assert "revision.published" not in response.content.decode()


@pytest.mark.parametrize("role", ["staff", "head", "auditor", "admin"])
def test_the_navigation_links_the_trail_only_for_its_readers(as_role, documents, role):
    response = as_role(role).get("/policies/")

    assert ("/audit-trail/" in links(response)) == (role in READERS)


# --- what it shows --------------------------------------------------------------------------------


def test_the_trail_lists_the_events_newest_first_with_era_dates(as_role, documents):
    response = as_role("auditor").get("/audit-trail/")

    rows = trail_rows(response)
    events = list(AuditEvent.objects.order_by("-created_at", "-id")[:50])
    assert len(rows) == len(events) > 0
    assert [row.action for row in rows] == [event.action for event in events]
    assert [row.time for row in rows] == [era_datetime(event.created_at) for event in events]
    assert all(row.time.startswith("令和") for row in rows)


def test_the_trail_names_who_approved_what(as_role, documents):
    rows = trail_rows(as_role("ciso").get("/audit-trail/"))

    approved = [row for row in rows if row.action == "revision.approved"]
    assert len(approved) == 3
    assert all(row.sentence.startswith("ciso さんが") for row in approved)
    assert all(row.sentence.endswith("を承認しました。") for row in approved)
    assert any("対策基準" in row.sentence for row in approved)


def test_the_trail_shows_where_an_acknowledgement_came_from(as_role, documents):
    revision = documents["standard"].current_revision()
    as_role("staff").post(f"/acknowledgements/revisions/{revision.pk}/", REMOTE_ADDR="192.0.2.44")

    rows = trail_rows(as_role("auditor").get("/audit-trail/?action=revision.acknowledged"))

    assert len(rows) == 1
    row = rows[0]
    assert (row.action, row.address) == ("revision.acknowledged", "192.0.2.44")
    assert row.sentence.startswith("staff_joho さんが")
    assert revision.content_sha256 in row.details


# --- filters -------------------------------------------------------------------------------------


def test_the_action_filter_keeps_only_that_action(as_role, documents):
    response = as_role("admin").get("/audit-trail/?action=revision.published")

    assert actions(response) == ["revision.published"] * 3
    select = page(response).find("select", name="action")
    chosen = [o.attrs["value"] for o in select.find_all("option") if "selected" in o.attrs]
    assert chosen == ["revision.published"]


def test_an_unknown_action_is_a_field_error_not_an_unfiltered_list(as_role, documents):
    response = as_role("admin").get("/audit-trail/?action=campaign")

    assert response.status_code == 200
    error, summarised = field_error(response, "action")
    assert error and summarised
    assert trail_rows(response) == []


def test_the_actor_filter_keeps_only_that_persons_events(as_role, documents):
    rows = trail_rows(as_role("auditor").get("/audit-trail/?actor=ciso"))

    assert rows
    assert all(row.sentence.startswith("ciso さんが") for row in rows)
    assert len(rows) == AuditEvent.objects.filter(actor_name="ciso").count()


def test_action_and_actor_filters_combine(as_role, documents):
    rows = trail_rows(as_role("auditor").get("/audit-trail/?action=revision.published&actor=admin"))

    assert [row.action for row in rows] == ["revision.published"] * 3
    assert all(row.sentence.startswith("admin さんが") for row in rows)


def test_the_target_type_filter_keeps_only_events_about_that_kind_of_record(as_role, documents):
    rows = trail_rows(
        as_role("ciso").get("/audit-trail/?target_type=acknowledgements.acknowledgementcampaign")
    )

    assert [row.action for row in rows] == ["campaign.opened", "campaign.opened"]


def test_the_date_filters_keep_only_events_of_those_days(as_role, documents):
    client = as_role("admin")
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    yesterday = today - datetime.timedelta(days=1)

    assert len(trail_rows(client.get(f"/audit-trail/?since={today}&until={today}"))) > 0
    assert trail_rows(client.get(f"/audit-trail/?since={tomorrow}")) == []
    assert trail_rows(client.get(f"/audit-trail/?until={yesterday}")) == []


def test_an_unknown_actor_is_a_field_error(as_role, documents):
    response = as_role("admin").get("/audit-trail/?actor=nobody")

    assert response.status_code == 200
    assert trail_rows(response) == []
    error, summarised = field_error(response, "actor")
    assert "nobody" in error and summarised


def test_an_invalid_date_shows_the_form_error_instead_of_failing(as_role, documents):
    response = as_role("admin").get("/audit-trail/?since=令和八年")

    assert response.status_code == 200
    error, summarised = field_error(response, "since")
    assert error and summarised
    assert page(response).find("input", name="since").attrs["value"] == "令和八年"


def test_the_trail_pages_by_fifty_and_keeps_the_filters_across_pages(as_role, documents, people):
    for n in range(60):
        audit.record(AuditAction.EVIDENCE_ATTACHED, actor=people["ciso"], data={"n": n})
    client = as_role("auditor")

    first = client.get("/audit-trail/?action=evidence.attached")
    second = client.get("/audit-trail/?action=evidence.attached&page=2")

    assert actions(first) == ["evidence.attached"] * 50
    assert "?action=evidence.attached&page=2" in links(first)
    assert actions(second) == ["evidence.attached"] * 10
    shown = [row.details for row in trail_rows(first) + trail_rows(second)]
    assert len(set(shown)) == 60


# --- the Django admin --------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return UserFactory(username="superuser", is_superuser=True, is_staff=True)


@pytest.fixture
def admin_site(client, superuser):
    client.force_login(superuser)
    return client


def changelist_rows(response):
    table = page(response).find("table", id="result_list")
    return [tr.text for tr in table.find("tbody").find_all("tr")] if table else []


def test_the_django_admin_lists_the_audit_trail_for_the_superuser(admin_site, documents):
    response = admin_site.get("/admin/isms/auditevent/")

    assert response.status_code == 200
    rows = changelist_rows(response)
    assert len(rows) == min(AuditEvent.objects.count(), 100)
    assert any("revision.published" in row for row in rows)


def test_the_django_admin_filters_and_searches_the_trail(admin_site, documents):
    by_action = changelist_rows(admin_site.get("/admin/isms/auditevent/?action=revision.approved"))
    by_actor = changelist_rows(admin_site.get("/admin/isms/auditevent/?q=ciso"))

    assert len(by_action) == 3
    assert all("revision.approved" in row for row in by_action)
    assert by_actor
    assert all("ciso" in row for row in by_actor)


def test_the_django_admin_offers_no_way_to_add_to_the_trail(admin_site, documents):
    response = admin_site.get("/admin/isms/auditevent/")

    assert "/admin/isms/auditevent/add/" not in links(response)
    assert admin_site.get("/admin/isms/auditevent/add/").status_code == 403
    assert admin_site.post("/admin/isms/auditevent/add/", {"action": "forged"}).status_code == 403
    assert not AuditEvent.objects.filter(action="forged").exists()


def test_the_django_admin_shows_an_event_read_only(admin_site, documents):
    event = AuditEvent.objects.filter(action="revision.published").first()

    response = admin_site.get(f"/admin/isms/auditevent/{event.pk}/change/")

    assert response.status_code == 200
    assert page(response).find("input", name="action") is None
    assert page(response).find("input", type="submit", name="_save") is None


def test_the_django_admin_refuses_to_change_an_event(admin_site, documents):
    event = AuditEvent.objects.filter(action="revision.published").first()

    response = admin_site.post(
        f"/admin/isms/auditevent/{event.pk}/change/",
        {"action": "revision.forged", "actor_name": "someone", "data": "{}"},
    )

    assert response.status_code == 403
    event.refresh_from_db()
    assert event.action == "revision.published"


def test_the_django_admin_refuses_to_delete_an_event(admin_site, documents):
    event = AuditEvent.objects.filter(action="revision.published").first()

    assert admin_site.get(f"/admin/isms/auditevent/{event.pk}/delete/").status_code == 403
    assert (
        admin_site.post(f"/admin/isms/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_django_admin_offers_no_bulk_delete_of_the_trail(admin_site, documents):
    events = AuditEvent.objects.count()
    pk = AuditEvent.objects.values_list("pk", flat=True).first()

    listing = admin_site.get("/admin/isms/auditevent/")
    admin_site.post(
        "/admin/isms/auditevent/",
        {"action": "delete_selected", "_selected_action": [pk], "post": "yes"},
    )

    assert page(listing).find("select", name="action") is None
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("url", "model"),
    [
        ("/admin/isms/policyrevision/", PolicyRevision),
        ("/admin/acknowledgements/acknowledgement/", Acknowledgement),
        ("/admin/acknowledgements/acknowledgementcampaign/", AcknowledgementCampaign),
    ],
)
def test_the_other_compliance_records_are_read_only_in_the_django_admin(
    admin_site, documents, people, url, model
):
    from acknowledgements.services import acknowledge

    acknowledge(people["staff"], documents["standard"].current_revision())
    record = model.objects.first()

    assert admin_site.get(url).status_code == 200
    assert admin_site.get(f"{url}{record.pk}/change/").status_code == 200
    assert admin_site.get(f"{url}add/").status_code == 403
    assert admin_site.post(f"{url}{record.pk}/change/", {}).status_code == 403
    assert admin_site.post(f"{url}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("role", ["admin", "ciso", "auditor", "staff"])
def test_the_personas_without_staff_status_do_not_reach_the_django_admin(as_role, documents, role):
    response = as_role(role).get("/admin/isms/auditevent/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
