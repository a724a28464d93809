"""The audit trail as people read it: each event as a sentence in the reader's language,
what changed as rows of a small table, the other details by name.

Display only: nothing here changes how events are recorded (isms.audit) or what is sealed
into the chain. Events are read as they were written, whatever their age: an action or a
detail this module does not know still reads as a sentence, with the detail's own name."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from .models import AuditAction, AuditEvent, Role
from .notification_text import format_date

Data = dict[str, Any]

# One sentence per action, with %(actor)s (who did it), %(object)s (what it was done to,
# with its kind: 情報資産「公開ウェブサイト」) and the key detail of the action. The rest of
# the details are listed under the sentence.
SENTENCES: dict[str, Any] = {
    AuditAction.POLICY_IMPORTED: gettext_lazy("%(actor)s imported %(object)s."),
    AuditAction.REVISION_DRAFTED: gettext_lazy("%(actor)s drafted %(object)s."),
    AuditAction.REVISION_EDITED: gettext_lazy("%(actor)s edited %(object)s."),
    AuditAction.REVISION_SUBMITTED: gettext_lazy("%(actor)s submitted %(object)s for approval."),
    AuditAction.REVISION_RETURNED: gettext_lazy("%(actor)s returned %(object)s for correction."),
    AuditAction.REVISION_APPROVED: gettext_lazy("%(actor)s approved %(object)s."),
    AuditAction.REVISION_PUBLISHED: gettext_lazy(
        "%(actor)s published %(object)s, in force from %(effective_date)s."
    ),
    AuditAction.REVISION_SUPERSEDED: gettext_lazy("%(object)s was superseded."),
    AuditAction.ROLE_ASSIGNED: gettext_lazy("%(actor)s gave %(object)s the role %(role)s."),
    AuditAction.ROLE_REVOKED: gettext_lazy("%(actor)s took the role %(role)s from %(object)s."),
    AuditAction.PERMISSIONS_SYNCED: gettext_lazy(
        "The department permissions of %(object)s were brought in line with their roles."
    ),
    AuditAction.IMPORT_QUEUED: gettext_lazy("%(actor)s queued the file %(file)s for import."),
    AuditAction.ASSET_CREATED: gettext_lazy("%(actor)s registered %(object)s."),
    AuditAction.ASSET_CLASSIFIED: gettext_lazy(
        "%(actor)s changed the classification of %(object)s."
    ),
    AuditAction.ASSET_IMPORTED: gettext_lazy(
        "%(actor)s imported %(rows)s assets from the file %(file)s."
    ),
    AuditAction.ASSET_SCHEME_ACTIVATED: gettext_lazy(
        "%(actor)s put the classification scheme %(scheme)s into use."
    ),
    AuditAction.CYCLE_OPENED: gettext_lazy("%(actor)s opened %(object)s."),
    AuditAction.CYCLE_AUDITOR_ASSIGNED: gettext_lazy(
        "%(actor)s assigned %(auditor)s to audit %(department)s in %(object)s."
    ),
    AuditAction.INSPECTION_SUBMITTED: gettext_lazy("%(actor)s submitted %(object)s."),
    AuditAction.INSPECTION_RETURNED: gettext_lazy("%(actor)s returned %(object)s for correction."),
    AuditAction.FINDING_RECORDED: gettext_lazy("%(actor)s recorded %(object)s."),
    AuditAction.FINDING_EDITED: gettext_lazy("%(actor)s edited %(object)s."),
    AuditAction.FINDING_ACTION_PLANNED: gettext_lazy(
        "%(actor)s planned a corrective action for %(object)s, due %(due_on)s."
    ),
    AuditAction.FINDING_CLOSED: gettext_lazy("%(actor)s closed %(object)s."),
    AuditAction.FINDING_REOPENED: gettext_lazy("%(actor)s reopened %(object)s."),
    AuditAction.REVISION_FINDINGS_CITED: gettext_lazy(
        "%(actor)s cited audit findings in %(object)s."
    ),
    AuditAction.EVIDENCE_ATTACHED: gettext_lazy("%(actor)s attached evidence to %(object)s."),
    AuditAction.REVIEW_ITEM_RAISED: gettext_lazy(
        "%(actor)s put %(object)s on the policy review backlog."
    ),
    AuditAction.REVIEW_ITEM_WITHDRAWN: gettext_lazy(
        "%(actor)s took %(object)s off the policy review backlog."
    ),
    AuditAction.REVISION_REVIEW_ITEMS_CITED: gettext_lazy(
        "%(actor)s cited items of the policy review backlog in %(object)s."
    ),
    AuditAction.INCIDENT_REPORTED: gettext_lazy("%(actor)s reported %(object)s."),
    AuditAction.INCIDENT_TRIAGED: gettext_lazy("%(actor)s triaged %(object)s."),
    AuditAction.INCIDENT_MOVED: gettext_lazy("%(actor)s moved %(object)s to %(to)s."),
    AuditAction.INCIDENT_DISMISSED: gettext_lazy(
        "%(actor)s dismissed %(object)s as a false alarm."
    ),
    AuditAction.INCIDENT_REOPENED: gettext_lazy("%(actor)s reopened %(object)s."),
    AuditAction.INCIDENT_REVIEWED: gettext_lazy(
        "%(actor)s recorded the post-incident review of %(object)s."
    ),
    AuditAction.OBLIGATION_STAGE_CHANGED: gettext_lazy(
        "%(actor)s marked %(object)s as %(status)s."
    ),
    AuditAction.DRILL_RECORDED: gettext_lazy("%(actor)s recorded %(object)s."),
    AuditAction.CAMPAIGN_OPENED: gettext_lazy(
        "%(actor)s asked for acknowledgements in %(object)s, by %(deadline)s."
    ),
    AuditAction.CAMPAIGN_DEADLINE_CHANGED: gettext_lazy(
        "%(actor)s changed the deadline of %(object)s from %(from)s to %(to)s."
    ),
    AuditAction.REVISION_ACKNOWLEDGED: gettext_lazy("%(actor)s acknowledged %(object)s."),
    AuditAction.COURSE_PUBLISHED: gettext_lazy("%(actor)s published %(object)s."),
    AuditAction.COURSE_COMPLETED: gettext_lazy(
        "%(actor)s completed %(object)s with a score of %(score)s."
    ),
    AuditAction.SIGNIN_SUCCEEDED: gettext_lazy("%(actor)s signed in."),
    AuditAction.SIGNIN_FAILED: gettext_lazy("A sign-in as %(username)s failed."),
    AuditAction.SIGNIN_LOCKED_OUT: gettext_lazy(
        "Sign-in as %(username)s was locked after repeated failures."
    ),
    AuditAction.SIGNED_OUT: gettext_lazy("%(actor)s signed out."),
    AuditAction.PASSWORD_CHANGED: gettext_lazy("%(actor)s changed their password."),
    AuditAction.PASSWORD_RESET: gettext_lazy("%(actor)s reset their password by e-mail."),
    AuditAction.SESSIONS_ENDED: gettext_lazy("%(actor)s signed out %(sessions)s sessions."),
    AuditAction.MFA_ENROLLED: gettext_lazy("%(actor)s added a second factor."),
    AuditAction.MFA_REMOVED: gettext_lazy("%(actor)s removed a second factor."),
    AuditAction.MFA_RECOVERY_CODES_GENERATED: gettext_lazy(
        "%(actor)s generated new recovery codes."
    ),
    AuditAction.MFA_VERIFICATION_FAILED: gettext_lazy(
        "A second factor entered for %(actor)s was refused."
    ),
    AuditAction.TOKEN_ISSUED: gettext_lazy("%(actor)s issued %(object)s."),
    AuditAction.TOKEN_REVOKED: gettext_lazy("%(actor)s revoked %(object)s."),
    AuditAction.PERSONNEL_UPLOADED: gettext_lazy("%(actor)s uploaded %(object)s."),
    AuditAction.PERSONNEL_SCHEDULED: gettext_lazy(
        "%(actor)s scheduled %(object)s to take effect on %(effective_on)s."
    ),
    AuditAction.PERSONNEL_CANCELLED: gettext_lazy("%(actor)s cancelled %(object)s."),
    AuditAction.PERSONNEL_APPLIED: gettext_lazy("%(object)s was applied."),
    AuditAction.PERSONNEL_FAILED: gettext_lazy("%(object)s could not be applied."),
    AuditAction.PERSON_DEACTIVATED: gettext_lazy(
        "The account of %(object)s was ended after their last day, %(last_day)s."
    ),
}
# For an action this module has no sentence for (one added later, or an old code).
GENERIC = gettext_lazy("%(actor)s: %(action)s (%(object)s).")
GENERIC_WITHOUT_OBJECT = gettext_lazy("%(actor)s: %(action)s.")

# Details named in the reader's language; any other reads as its own key.
DETAIL_LABELS: dict[str, Any] = {
    "auditor": gettext_lazy("Auditor"),
    "batch": gettext_lazy("Personnel batch"),
    "checked_again": gettext_lazy("Checked again"),
    "classification": gettext_lazy("Classification (C / I / A)"),
    "count": gettext_lazy("Number"),
    "deadline": gettext_lazy("Deadline"),
    "department": gettext_lazy("Department"),
    "departments": gettext_lazy("Departments"),
    "due_on": gettext_lazy("Due date"),
    "effective_date": gettext_lazy("Effective date"),
    "effective_on": gettext_lazy("Effective date"),
    "enrolled": gettext_lazy("People enrolled"),
    "expires": gettext_lazy("Expires"),
    "fields": gettext_lazy("Fields changed"),
    "file": gettext_lazy("File"),
    "findings": gettext_lazy("Findings"),
    "granted": gettext_lazy("Permissions granted"),
    "kind": gettext_lazy("Kind"),
    "last_day": gettext_lazy("Last day"),
    "material": gettext_lazy("Material change"),
    "method": gettext_lazy("Method"),
    "name": gettext_lazy("Name"),
    "note": gettext_lazy("Note"),
    "owner": gettext_lazy("Owner"),
    "prefix": gettext_lazy("Prefix"),
    "previous": gettext_lazy("Previous scheme"),
    "problems": gettext_lazy("Problems"),
    "reason": gettext_lazy("Reason"),
    "revision": gettext_lazy("Revision"),
    "revisions": gettext_lazy("Revisions"),
    "revoked": gettext_lazy("Permissions revoked"),
    "role": gettext_lazy("Role"),
    "rows": gettext_lazy("Rows"),
    "scheme": gettext_lazy("Classification scheme"),
    "scope": gettext_lazy("Scope"),
    "score": gettext_lazy("Score"),
    "sessions": gettext_lazy("Sessions"),
    "severity": gettext_lazy("Severity"),
    "sha256": gettext_lazy("SHA-256"),
    "size": gettext_lazy("Size (bytes)"),
    "superseded_by": gettext_lazy("Superseded by"),
    "throttled": gettext_lazy("Throttled"),
    "user": gettext_lazy("User"),
    "username": gettext_lazy("User name given"),
}
# Details that name a date (stored as ISO dates), read as the reader reads dates.
DATE_DETAILS = {
    "deadline",
    "due_on",
    "effective_date",
    "effective_on",
    "expires",
    "last_day",
    "from",
    "to",
}
# What the "changes" of an event hold: {field: [before, after]}; a deadline change keeps
# its two dates as "from" and "to".
CHANGES = "changes"


@dataclass
class Change:
    field: str
    before: str
    after: str


@dataclass
class Detail:
    label: str
    value: str


@dataclass
class EventView:
    event: AuditEvent
    sentence: str
    changes: list[Change] = field(default_factory=list)
    details: list[Detail] = field(default_factory=list)


def _model(label: str) -> type[Model] | None:
    if not label:
        return None
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _as_date(value: Any) -> datetime.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _value(value: Any, key: str = "") -> str:
    """A detail's value as text: dates as the reader reads them, yes/no, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key == "role":
        try:
            return str(Role(value).label)
        except ValueError:
            return str(value)
    if isinstance(value, list):
        return _(", ").join(_value(item) for item in value) if value else "—"
    if isinstance(value, dict):
        return _(", ").join(f"{k}: {_value(v)}" for k, v in value.items())
    if key in DATE_DETAILS and (day := _as_date(value)):
        return format_date(day)
    return str(value)


def _person(name: str) -> str:
    """A person as a sentence names them: 山田 太郎さん in Japanese (a display name that
    carries its honorific already keeps just that one)."""
    if name.endswith("さん"):
        return name
    return pgettext("a person named in the audit trail", "%(name)s") % {"name": name}


def _actor(event: AuditEvent) -> str:
    if event.actor_id is not None and event.actor is not None:
        return _person(str(event.actor))
    if event.actor_name:
        return _person(event.actor_name)
    return _("The system")


def _object(event: AuditEvent, model: type[Model] | None) -> str:
    if not (event.target_repr or event.target_id):
        return _("a record")
    name = event.target_repr or event.target_id
    if model is not None and model._meta.label_lower == "isms.user":
        return _person(name)
    kind = str(model._meta.verbose_name) if model is not None else event.target_type
    return _("%(kind)s “%(name)s”") % {"kind": kind, "name": name}


def _field_label(model: type[Model] | None, name: str) -> str:
    if model is not None:
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            model_field = None
        if model_field is not None and hasattr(model_field, "verbose_name"):
            return str(model_field.verbose_name)
    return str(DETAIL_LABELS.get(name, name))


def _changes(event: AuditEvent, model: type[Model] | None) -> list[Change]:
    data = event.data if isinstance(event.data, dict) else {}
    rows = []
    changes = data.get(CHANGES)
    if isinstance(changes, dict):
        for name, pair in changes.items():
            before, after = (
                pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
            )
            rows.append(Change(_field_label(model, name), _value(before), _value(after)))
    if event.action == AuditAction.CAMPAIGN_DEADLINE_CHANGED:
        rows.append(
            Change(
                str(DETAIL_LABELS["deadline"]),
                _value(data.get("from"), "deadline"),
                _value(data.get("to"), "deadline"),
            )
        )
    return rows


def _details(event: AuditEvent, skip: Iterable[str]) -> list[Detail]:
    data = event.data if isinstance(event.data, dict) else {}
    skipped = {CHANGES, *skip}
    if event.action == AuditAction.CAMPAIGN_DEADLINE_CHANGED:
        skipped |= {"from", "to"}
    return [
        Detail(str(DETAIL_LABELS.get(key, key)), _value(value, key))
        for key, value in data.items()
        if key not in skipped
    ]


def describe(event: AuditEvent) -> EventView:
    """The event in the reader's language (call it with the reader's language active)."""
    model = _model(event.target_type)
    data = event.data if isinstance(event.data, dict) else {}
    params: dict[str, Any] = {
        "actor": _actor(event),
        "object": _object(event, model),
        "action": event.action_label,
    }
    for key, value in data.items():
        params.setdefault(key, _value(value, key))
    template = SENTENCES.get(event.action)
    sentence = ""
    used: list[str] = []
    if template is not None:
        try:
            sentence = str(template) % _Recorder(params, used)
        except (KeyError, TypeError, ValueError):
            # An old event without the detail its sentence names: the generic sentence.
            sentence = ""
            used = []
    if not sentence:
        generic = GENERIC if event.target_repr or event.target_id else GENERIC_WITHOUT_OBJECT
        sentence = str(generic) % params
    return EventView(
        event=event,
        sentence=sentence,
        changes=_changes(event, model),
        details=_details(event, skip=used),
    )


class _Recorder(dict):
    """The sentence's parameters, noting which details the sentence used (they are not
    listed again under it); a missing one raises KeyError like a plain dict."""

    def __init__(self, params: dict[str, Any], used: list[str]) -> None:
        super().__init__(params)
        self.used = used

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        self.used.append(key)
        return value


def describe_all(events: Iterable[AuditEvent]) -> list[EventView]:
    return [describe(event) for event in events]


def target_type_label(label: str) -> str:
    """A target type (an app label and model name) as the reader names that kind of record."""
    model = _model(label)
    return str(model._meta.verbose_name) if model is not None else label
