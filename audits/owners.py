"""Who may own a corrective action: those who read the finding through their own standing,
i.e. the department's heads and section chiefs and the CISO's office (never the staff, who
do not see findings at all); isms.pickers applies the rule.

Apart from audits.access because the corrective action model applies the rule when an
owner is named (CorrectiveAction.clean), and the access rules read the audit models:
neither imports the other in a circle.
"""

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from isms.models import Department, User
from isms.pickers import NamingRule, check_nameable, may_be_named, nameable_people
from isms.roles import PROGRAMME_OFFICE_ROLES

if TYPE_CHECKING:  # for the annotations only: the models import this module
    from .models import Finding

OWNER_RULE: NamingRule = {"org_wide_roles": PROGRAMME_OFFICE_ROLES, "members": False}


def possible_owners(department: Department) -> QuerySet[User]:
    return nameable_people(department, **OWNER_RULE)


def may_own(person: User | None, finding: "Finding") -> bool:
    return may_be_named(person, finding.department, **OWNER_RULE)


def check_owner(person: User | None, finding: "Finding") -> None:
    check_nameable(person, finding.department, field="owner", **OWNER_RULE)
