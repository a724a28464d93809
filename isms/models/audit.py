"""The audit trail: an append-only record of every change that proves compliance.

Tamper-evident: a sealing job (isms.audit.seal_pending_events) gives each new event its
position in one chain, the hash of the event before it, and its own hash over its content
and that previous hash. Changing or removing a sealed event breaks the chain at that event
(manage.py verify_audit_trail); rewriting the whole chain changes its head, which the
weekly summary has already told the CISO.
"""

import datetime
import hashlib
import json

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from .. import dbguards
from ..exceptions import ImmutableRecordError

# The "previous hash" of the first event of the chain.
GENESIS_HASH = "0" * 64


class AuditAction(models.TextChoices):
    """Every action the audit trail records: the value is the machine form stored in the
    event (and hashed into the chain, so a value is never renamed once written); the label
    is how the trail's page reads it. isms.audit.record() refuses any other action."""

    # Policy documents and their revisions (isms)
    POLICY_IMPORTED = "policy.imported", _("Policy document imported")
    REVISION_DRAFTED = "revision.drafted", _("Revision drafted")
    REVISION_EDITED = "revision.edited", _("Revision edited")
    REVISION_SUBMITTED = "revision.submitted", _("Revision submitted for approval")
    REVISION_RETURNED = "revision.returned", _("Revision returned for correction")
    REVISION_APPROVED = "revision.approved", _("Revision approved")
    REVISION_PUBLISHED = "revision.published", _("Revision published")
    REVISION_SUPERSEDED = "revision.superseded", _("Revision superseded")
    # Roles, permissions and imports (isms)
    ROLE_ASSIGNED = "role.assigned", _("Role assigned")
    ROLE_REVOKED = "role.revoked", _("Role revoked")
    PERMISSIONS_SYNCED = "permissions.synced", _("Department permissions synchronised")
    IMPORT_QUEUED = "import.queued", _("Import file queued")
    # Information assets (assets)
    ASSET_CREATED = "asset.created", _("Asset registered")
    ASSET_CLASSIFIED = "asset.classified", _("Asset classification changed")
    ASSET_IMPORTED = "asset.imported", _("Assets imported")
    ASSET_SCHEME_ACTIVATED = "asset.scheme_activated", _("Classification scheme activated")
    # Audits and self-inspections (audits)
    CYCLE_OPENED = "cycle.opened", _("Audit cycle opened")
    CYCLE_AUDITOR_ASSIGNED = "cycle.auditor_assigned", _("Auditor assigned to a cycle")
    INSPECTION_SUBMITTED = "inspection.submitted", _("Inspection submitted")
    INSPECTION_RETURNED = "inspection.returned", _("Inspection returned for correction")
    FINDING_RECORDED = "finding.recorded", _("Finding recorded")
    FINDING_EDITED = "finding.edited", _("Finding edited")
    FINDING_ACTION_PLANNED = "finding.action_planned", _("Corrective action planned for a finding")
    FINDING_CLOSED = "finding.closed", _("Finding closed")
    FINDING_REOPENED = "finding.reopened", _("Finding reopened")
    # No longer recorded (REVISION_REVIEW_ITEMS_CITED since the backlog moved to the core);
    # kept for the events written with it.
    REVISION_FINDINGS_CITED = "revision.findings_cited", _("Findings cited in a revision")
    EVIDENCE_ATTACHED = "evidence.attached", _("Evidence attached")
    # The policy review backlog (isms.review)
    REVIEW_ITEM_RAISED = "review.item_raised", _("Put on the policy review backlog")
    REVIEW_ITEM_WITHDRAWN = "review.item_withdrawn", _("Taken off the policy review backlog")
    REVISION_REVIEW_ITEMS_CITED = (
        "revision.review_items_cited",
        _("Review items cited in a revision"),
    )
    # Incidents and the emergency response plan (incidents)
    INCIDENT_REPORTED = "incident.reported", _("Incident reported")
    INCIDENT_TRIAGED = "incident.triaged", _("Incident triaged")
    INCIDENT_MOVED = "incident.moved", _("Incident moved to another stage")
    INCIDENT_DISMISSED = "incident.dismissed", _("Incident dismissed as a false alarm")
    INCIDENT_REOPENED = "incident.reopened", _("Incident reopened")
    INCIDENT_REVIEWED = "incident.reviewed", _("Post-incident review recorded")
    OBLIGATION_STAGE_CHANGED = "obligation.stage_changed", _("Reporting obligation updated")
    DRILL_RECORDED = "drill.recorded", _("Emergency drill recorded")
    # Acknowledgements and training (training)
    CAMPAIGN_OPENED = "campaign.opened", _("Acknowledgement campaign opened")
    CAMPAIGN_DEADLINE_CHANGED = "campaign.deadline_changed", _("Acknowledgement deadline changed")
    REVISION_ACKNOWLEDGED = "revision.acknowledged", _("Revision acknowledged")
    COURSE_PUBLISHED = "course.published", _("Course published")
    COURSE_COMPLETED = "course.completed", _("Course completed")
    # Sign-in and accounts (isms)
    SIGNIN_SUCCEEDED = "signin.succeeded", _("Signed in")
    SIGNIN_FAILED = "signin.failed", _("Sign-in failed")
    SIGNIN_LOCKED_OUT = "signin.locked_out", _("Sign-in locked out")
    SIGNED_OUT = "signin.signed_out", _("Signed out")
    # Local accounts and sessions (isms.local_signin, isms.sessions)
    PASSWORD_CHANGED = "account.password_changed", _("Password changed")
    PASSWORD_RESET = "account.password_reset", _("Password reset by e-mail")
    SESSIONS_ENDED = "account.sessions_ended", _("Sessions signed out")
    # Two-step verification (isms/mfa.py)
    MFA_ENROLLED = "mfa.enrolled", _("Second factor added")
    MFA_REMOVED = "mfa.removed", _("Second factor removed")
    MFA_RECOVERY_CODES_GENERATED = "mfa.recovery_codes_generated", _("Recovery codes generated")
    MFA_VERIFICATION_FAILED = "mfa.verification_failed", _("Second factor refused")
    # API tokens (isms, tokens)
    TOKEN_ISSUED = "token.issued", _("API token issued")
    TOKEN_REVOKED = "token.revoked", _("API token revoked")
    # People and organisation from the personnel system (isms.personnel)
    PERSONNEL_UPLOADED = "personnel.uploaded", _("Personnel file uploaded")
    PERSONNEL_SCHEDULED = "personnel.scheduled", _("Personnel batch scheduled")
    PERSONNEL_CANCELLED = "personnel.cancelled", _("Personnel batch cancelled")
    PERSONNEL_APPLIED = "personnel.applied", _("Personnel batch applied")
    PERSONNEL_FAILED = "personnel.failed", _("Personnel batch could not be applied")
    PERSON_DEACTIVATED = "personnel.deactivated", _("Leaver deactivated")


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # Sealing is the one update there is: the seal columns, set once (the trigger
        # refuses to set them twice, and so does this filter).
        if kwargs and set(kwargs) <= set(dbguards.AUDIT_SEAL_COLUMNS):
            return super(AuditEventQuerySet, self.filter(hash__isnull=True)).update(**kwargs)
        raise ImmutableRecordError("The audit trail is append-only.")

    def delete(self):
        raise ImmutableRecordError("The audit trail is append-only.")


class AuditEvent(models.Model):
    """Who did what, to what, when and from where. Written only by isms.audit.record()."""

    # The database's clock, whatever the client says (a trigger enforces it on PostgreSQL).
    created_at = models.DateTimeField(_("time"), db_default=Now(), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # People are deactivated, never deleted, while the trail names them.
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept as text too, so the record still reads right if a name changes later.
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    target_type = models.CharField(_("target type"), max_length=100, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=300, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    # The seal, written once by the sealing job (NULL until then).
    chain_position = models.PositiveBigIntegerField(
        _("position in the chain"), null=True, blank=True, unique=True, editable=False
    )
    # NULL, not "", means "not sealed yet": the trigger lets NULL become a value once.
    previous_hash = models.CharField(  # noqa: DJ001
        _("hash of the previous event"), max_length=64, null=True, blank=True, editable=False
    )
    hash = models.CharField(  # noqa: DJ001
        _("hash"), max_length=64, null=True, blank=True, editable=False
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            # Serves the trail of one record: "everything that happened to revision 12".
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            # Serves the sealing job: the events not yet chained, oldest first.
            models.Index(
                fields=["id"], condition=models.Q(hash__isnull=True), name="audit_unsealed_idx"
            ),
        ]
        triggers = [
            dbguards.time_from_database_clock("created_at", cleared=dbguards.AUDIT_SEAL_COLUMNS),
            dbguards.refuse_update(
                name="sealing_only",
                reason="is append-only (only its seal is written, once)",
                condition=dbguards.Sql(
                    "NOT {sealing}",
                    sealing=dbguards.ChangesOnly(set_once=dbguards.AUDIT_SEAL_COLUMNS),
                ),
            ),
            dbguards.refuse_delete(),
            dbguards.refuse_truncate(),
        ]

    def __str__(self):
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target_repr}"
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecordError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("The audit trail is append-only.")

    @property
    def action_label(self):
        """The action as the trail's page reads it; an action stored before it was named
        in AuditAction reads as its code."""
        try:
            return AuditAction(self.action).label
        except ValueError:
            return self.action

    @property
    def is_sealed(self):
        return self.hash is not None

    def compute_hash(self):
        """SHA-256 over the event's content, its position and the previous event's hash,
        as read back from the database (so the sealing job and the verifier agree)."""
        content = {
            "id": self.pk,
            "position": self.chain_position,
            "previous": self.previous_hash,
            "time": self.created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
            "actor": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target": self.target_repr,
            "data": self.data,
            "ip": self.ip_address,
            "user_agent": self.user_agent,
        }
        encoded = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
