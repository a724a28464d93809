"""Writing the audit trail. Every state change that proves compliance calls record();
a job seals what was recorded into a hash chain (seal_pending_events), and
verify_chain() proves it unchanged."""

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import connection, models, transaction
from django.http import HttpRequest
from rest_framework.request import Request

from .clientip import client_ip
from .dbguards import AUDIT_SEAL_COLUMNS
from .models import AuditAction, AuditEvent, User
from .models.audit import GENESIS_HASH

logger = logging.getLogger(__name__)

# The request an action is called from, a page's or the API's: the actions take it only to
# record its address and user agent in the trail.
AnyRequest = HttpRequest | Request


def user_agent(request: AnyRequest | None) -> str:
    if request is None:
        return ""
    return request.META.get("HTTP_USER_AGENT", "")[:300]


def record(
    action: AuditAction | str,
    *,
    actor: User | AnonymousUser | None = None,
    target: models.Model | None = None,
    request: AnyRequest | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit trail and return it. `action` is an AuditAction (or
    its value): a free string raises ValueError, so every action has a label."""
    try:
        action = AuditAction(action)
    except ValueError:
        raise ValueError(f"{action!r} is not an AuditAction: add it there first") from None
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=(actor.get_username() if actor else ""),
        action=action.value,  # the plain string, as read back when sealing
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        data=data or {},
        ip_address=client_ip(request),
        user_agent=user_agent(request),
    )


# Events sealed per transaction: bounds the sealing job's memory and lock time.
SEAL_BATCH_SIZE = 1000


def _lock_the_chain() -> None:
    """Only sealing jobs wait for one another; requests that write events never do."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('isms.audit_chain'))")


def chain_head() -> AuditEvent | None:
    """The last sealed event, or None."""
    return AuditEvent.objects.filter(hash__isnull=False).order_by("-chain_position").first()


def seal_pending_events() -> int:
    """Chain every event not yet sealed behind the head of the chain, oldest first, and
    return how many were sealed. Idempotent; two runs at once queue on one lock."""
    sealed = 0
    while True:
        with transaction.atomic():
            _lock_the_chain()
            head = chain_head()
            pending = list(
                AuditEvent.objects.filter(hash__isnull=True).order_by("id")[:SEAL_BATCH_SIZE]
            )
            if not pending:
                return sealed
            # The field may be null; the head's never is (chain_head() reads sealed events).
            previous: str | None
            if head is None:
                position, previous = 0, GENESIS_HASH
            elif head.chain_position is None:  # pragma: no cover - sealing sets both at once
                raise RuntimeError(f"audit event {head.pk} is sealed but has no position")
            else:
                position, previous = head.chain_position, head.hash
            for event in pending:
                position += 1
                event.chain_position = position
                event.previous_hash = previous
                event.hash = previous = event.compute_hash()
            written = AuditEvent.objects.bulk_update(pending, AUDIT_SEAL_COLUMNS)
            if written != len(pending):  # pragma: no cover - the lock makes this impossible
                raise RuntimeError("audit events were sealed by another job meanwhile")
        sealed += len(pending)
        if len(pending) < SEAL_BATCH_SIZE:
            return sealed


@dataclass
class ChainReport:
    sealed: int = 0
    unsealed: int = 0
    head: AuditEvent | None = None
    broken_at: AuditEvent | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain() -> ChainReport:
    """Recompute the chain from its first event and stop at the first broken link."""
    report = ChainReport(unsealed=AuditEvent.objects.filter(hash__isnull=True).count())
    expected_position, previous = 1, GENESIS_HASH
    sealed = AuditEvent.objects.filter(chain_position__isnull=False).order_by("chain_position")
    for event in sealed.iterator(chunk_size=2000):
        if event.chain_position != expected_position:
            report.problem = (
                f"position {event.chain_position} follows position {expected_position - 1}: "
                f"the event(s) in between are missing"
            )
        elif event.hash is None or event.previous_hash != previous:
            report.problem = "it does not follow the event before it in the chain"
        elif event.compute_hash() != event.hash:
            report.problem = "its content has changed since it was sealed"
        if report.problem:
            report.broken_at = event
            logger.error(
                "the audit trail's chain is broken at event %s: %s", event.pk, report.problem
            )
            return report
        report.sealed += 1
        report.head = event
        expected_position, previous = expected_position + 1, event.hash
    return report
