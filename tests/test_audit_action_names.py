"""The names of the audit trail's actions: one list (isms.models.audit.AuditAction) that
every recorded action is on, each with a label in English and Japanese; record() refuses
any other action, so a new free string fails here and not on the trail's page."""

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import translation

from isms import audit
from isms.models import AuditAction, AuditEvent

from .pages import page


def project_sources():
    """The Python files of the portal's own apps, without their migrations."""
    base = Path(settings.BASE_DIR)
    for config in apps.get_app_configs():
        path = Path(config.path)
        if path.parent != base:  # an installed package, not one of the portal's apps
            continue
        for source in path.rglob("*.py"):
            if "migrations" not in source.parts:
                yield source


def recorded_actions():
    """(file, line, action) of every record() call in the code: the action as written,
    a string literal or an AuditAction member's name."""
    for source in project_sources():
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            function = node.func
            calls_record = (isinstance(function, ast.Name) and function.id == "record") or (
                isinstance(function, ast.Attribute)
                and function.attr == "record"
                and isinstance(function.value, ast.Name)
                and function.value.id == "audit"
            )
            if not calls_record:
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant):
                yield source, node.lineno, first.value
            elif (
                isinstance(first, ast.Attribute) and getattr(first.value, "id", "") == "AuditAction"
            ):
                yield source, node.lineno, getattr(AuditAction, first.attr, first.attr)
            else:
                yield source, node.lineno, ast.unparse(first)


def test_every_action_the_code_records_is_a_named_audit_action():
    found = list(recorded_actions())

    assert {source.parent.name for source, _line, _action in found} >= {"isms", "assets", "audits"}
    assert len(found) >= len(AuditAction)
    unknown = [
        f"{file}:{line} {action}" for file, line, action in found if action not in AuditAction
    ]
    assert unknown == []
    assert {action for _file, _line, action in found} == set(AuditAction) - RETIRED


# Actions no code records any more, kept so that the events written with them still read
# as sentences (their values are sealed into the chain): audit findings were cited in a
# revision before the policy review backlog moved to the core (isms.review).
RETIRED = {AuditAction.REVISION_FINDINGS_CITED}


@pytest.mark.parametrize("action", list(AuditAction), ids=lambda action: action.value)
def test_every_action_has_an_english_and_a_japanese_label(action):
    with translation.override("en"):
        english = str(action.label)
    with translation.override("ja"):
        japanese = str(action.label)

    assert english and english != action.value
    assert japanese and japanese != english


def test_record_refuses_an_action_that_is_not_named(people):
    events = AuditEvent.objects.count()

    with pytest.raises(ValueError, match="revision.forged"):
        audit.record("revision.forged", actor=people["admin"])

    assert AuditEvent.objects.count() == events


def test_an_action_is_stored_as_its_code_whether_given_as_member_or_value(people):
    by_member = audit.record(AuditAction.ROLE_ASSIGNED, actor=people["admin"])
    by_value = audit.record("role.assigned", actor=people["admin"])

    stored = AuditEvent.objects.filter(pk__in=[by_member.pk, by_value.pk])
    assert {type(event.action) for event in stored} == {str}
    assert {event.action for event in stored} == {"role.assigned"}
    assert audit.seal_pending_events() >= 2
    assert audit.verify_chain().intact


def test_the_trail_page_names_each_action_in_japanese_beside_its_code(as_role, documents):
    response = as_role("auditor").get("/audit-trail/?action=revision.published")

    events = page(response).find_all("li", testid="event")
    assert len(events) == 3
    assert {event.attrs.get("data-action") for event in events} == {"revision.published"}
    assert {event.find("span", cls="kind").text for event in events} == {"改定版の公開"}
    offered = {
        option.attrs["value"]: option.text
        for option in page(response).find("select", name="action").find_all("option")
        if option.attrs.get("value")
    }
    with translation.override("ja"):
        assert offered == {action.value: str(action.label) for action in AuditAction}
    assert offered["revision.published"] == "改定版の公開"


def test_the_trail_page_in_english_shows_the_english_label(as_role, documents):
    client = as_role("auditor")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/audit-trail/?action=revision.published")

    events = page(response).find_all("li", testid="event")
    assert {event.find("span", cls="kind").text for event in events} == {"Revision published"}
