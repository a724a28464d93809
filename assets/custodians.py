"""Who may keep an asset (its custodian): the people of the owning section's department, its
heads and chiefs, and the roles that read the whole register (isms.pickers applies the
rule).

Apart from assets.access because the asset model applies the rule when a custodian is
named (Asset.clean), and the access rules read the asset model: neither imports the other
in a circle.
"""

from django.db.models import QuerySet

from isms.models import Department, User
from isms.pickers import NamingRule, check_nameable, may_be_named, nameable_people
from isms.roles import CITYWIDE_READER_ROLES

CUSTODIAN_RULE: NamingRule = {"org_wide_roles": CITYWIDE_READER_ROLES}


def possible_custodians(section: Department) -> QuerySet[User]:
    return nameable_people(section, **CUSTODIAN_RULE)


def may_keep(person: User | None, section: Department) -> bool:
    return may_be_named(person, section, **CUSTODIAN_RULE)


def check_custodian(person: User | None, section: Department) -> None:
    check_nameable(person, section, field="custodian", **CUSTODIAN_RULE)
