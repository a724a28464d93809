from .audit import AuditAction, AuditEvent
from .directory import DirectoryRoleGrant
from .evidence import EvidenceFile
from .imports import ImportJob, ImportStatus
from .notifications import Notification, SentReminder
from .organisation import (
    DEPARTMENTAL_ROLES,
    GLOBAL_ROLES,
    Department,
    DepartmentAncestor,
    DepartmentGroupObjectPermission,
    DepartmentKind,
    DepartmentUserObjectPermission,
    Role,
    RoleAssignment,
    User,
    department_id_of,
    subtree_ids,
)
from .personnel import (
    BatchKind,
    BatchStatus,
    EmploymentType,
    PersonnelBatch,
    PersonnelRoleGrant,
    Posting,
    RoleRule,
    UnitChange,
    UnitChangeKind,
)
from .policy import (
    Audience,
    DocumentKind,
    PolicyDocument,
    PolicyRevision,
    RevisionStatus,
)
from .review import ReviewItem
from .sessions import SignedInSession
from .tokens import ApiToken, RevokedReason

# What apps may use of the core's models: import them from isms.models, never from its
# submodules (tests/test_import_rules.py).

__all__ = [
    "ReviewItem",
    "EvidenceFile",
    "BatchKind",
    "BatchStatus",
    "EmploymentType",
    "PersonnelBatch",
    "PersonnelRoleGrant",
    "Posting",
    "RoleRule",
    "UnitChange",
    "UnitChangeKind",
    "ApiToken",
    "RevokedReason",
    "DEPARTMENTAL_ROLES",
    "GLOBAL_ROLES",
    "ImportJob",
    "ImportStatus",
    "Notification",
    "SentReminder",
    "Audience",
    "AuditAction",
    "AuditEvent",
    "Department",
    "DepartmentAncestor",
    "DepartmentGroupObjectPermission",
    "DepartmentKind",
    "DepartmentUserObjectPermission",
    "DirectoryRoleGrant",
    "DocumentKind",
    "PolicyDocument",
    "PolicyRevision",
    "RevisionStatus",
    "Role",
    "RoleAssignment",
    "SignedInSession",
    "User",
    "department_id_of",
    "subtree_ids",
]
