from .audit import AuditEvent
from .imports import ImportJob, ImportStatus
from .notifications import Notification, SentReminder
from .organisation import (
    DEPARTMENTAL_ROLES,
    GLOBAL_ROLES,
    Department,
    DepartmentAncestor,
    DepartmentGroupObjectPermission,
    DepartmentUserObjectPermission,
    Role,
    RoleAssignment,
    User,
)
from .policy import Audience, DocumentKind, PolicyDocument, PolicyRevision, RevisionStatus

__all__ = [
    "DEPARTMENTAL_ROLES",
    "GLOBAL_ROLES",
    "ImportJob",
    "ImportStatus",
    "Notification",
    "SentReminder",
    "Audience",
    "AuditEvent",
    "Department",
    "DepartmentAncestor",
    "DepartmentGroupObjectPermission",
    "DepartmentUserObjectPermission",
    "DocumentKind",
    "PolicyDocument",
    "PolicyRevision",
    "RevisionStatus",
    "Role",
    "RoleAssignment",
    "User",
]
