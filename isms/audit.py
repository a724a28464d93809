"""Writing the audit trail. Every state change that proves compliance calls record()."""

from .clientip import client_ip
from .models import AuditEvent


def user_agent(request):
    if request is None:
        return ""
    return request.META.get("HTTP_USER_AGENT", "")[:300]


def record(action, *, actor=None, target=None, request=None, data=None):
    """Append one event to the audit trail and return it."""
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=(actor.get_username() if actor else ""),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        data=data or {},
        ip_address=client_ip(request),
        user_agent=user_agent(request),
    )
