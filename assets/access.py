"""Who may see and change which assets.

- Everyone on the staff sees assets of the lowest confidentiality level (public information)
  anywhere in the city, every asset of their own section, and every asset they keep (its
  custodian, who may sit in another section of the department: isms.pickers).
- Section chiefs and department heads see and change every asset of the units they manage
  (the head: the whole department), through the `manage_assets` department permission.
- Auditors and the CISO's office read everything and change nothing.

All filters are SQL subqueries; nothing collects ids in Python.
"""

from typing import Any

from django.db.models import Q, QuerySet

from isms.models import Department, User
from isms.pickers import nameable_for_any
from isms.roles import (
    AnyUser,
    departments_managed,
    holds_department_right,
    reads_citywide,
)

from .custodians import CUSTODIAN_RULE
from .models import Asset, AssetChange

PUBLIC_RANK = 1


def visible_assets(
    user: AnyUser, assets: QuerySet[Asset] | None = None, *, public: bool = True
) -> QuerySet[Asset]:
    """The assets the person may see, of `assets` (all of them by default).

    `public=False` says that the caller keeps only assets above the public level (the
    register filtered by confidentiality 2 or higher, filters.above_public): the public
    branch then adds nothing, and without it the rest is one uncorrelated UNION of ids
    that PostgreSQL plans as a semi-join estimated from the person's few sections. In the
    OR below, it guesses that the subquery of managed units matches half the register and
    cannot tell that the public level and the filter's exclude each other, so it walks the
    register's order through every section before the person's to find the first page
    (bench/asset_register.py). Without a level asked for, the OR stays: the public half of
    the register is counted from asset_visibility_idx alone, where a UNION would have to
    gather its ids.
    """
    assets = Asset.objects.all() if assets is None else assets
    if not user.is_authenticated:
        return assets.none()
    if reads_citywide(user):
        return assets
    if not public:
        return assets.filter(pk__in=_own_asset_ids(user))
    visible = (
        Q(confidentiality_rank=PUBLIC_RANK)
        | Q(section__in=departments_managed(user))
        | Q(custodian_id=user.pk)
    )
    if user.section_id:
        visible |= Q(section_id=user.section_id)
    return assets.filter(visible)


def _own_asset_ids(user: User) -> "QuerySet[Asset, dict[str, Any]]":
    """The ids of the assets the person sees whatever their level: those of the units they
    manage, those they keep and those of their own section."""
    rows = Asset.objects.order_by()
    branches = [
        rows.filter(section__in=departments_managed(user)).values("pk"),
        rows.filter(custodian_id=user.pk).values("pk"),
    ]
    if user.section_id:
        branches.append(rows.filter(section_id=user.section_id).values("pk"))
    return branches[0].union(*branches[1:], all=True)


def visible_history(user: User, asset: Asset) -> QuerySet[AssetChange]:
    """The entries of a (visible) asset's history the person, signed in, may read: all of
    them for those who read the asset at any level (its section, its managers, the
    city-wide readers); for everyone else, who sees it only because it is public now, the
    entries made while it was public."""
    history = asset.history.all()
    if reads_citywide(user) or (user.section_id and user.section_id == asset.section_id):
        return history
    if asset.custodian_id == user.pk:
        return history
    if departments_managed(user).filter(pk=asset.section_id).exists():
        return history
    return history.filter(confidentiality_rank__lte=PUBLIC_RANK)


def editable_assets(user: AnyUser, assets: QuerySet[Asset] | None = None) -> QuerySet[Asset]:
    assets = Asset.objects.all() if assets is None else assets
    if not user.is_authenticated:
        return assets.none()
    return assets.filter(section__in=departments_managed(user))


def can_edit(user: AnyUser, asset: Asset) -> bool:
    return editable_assets(user).filter(pk=asset.pk).exists()


def can_manage_any(user: AnyUser) -> bool:
    """Section chiefs and department heads: they add, classify and import assets."""
    return holds_department_right(user, "manage_assets")


def can_use_register(user: AnyUser) -> bool:
    return user.is_authenticated


def assignable_sections(user: AnyUser) -> QuerySet[Department]:
    """Units a person may own assets in: those they manage."""
    return departments_managed(user)


def possible_custodians_for(user: AnyUser) -> QuerySet[User]:
    """Everyone who may keep an asset in one of the units the person manages: the picker's
    list before a section is chosen."""
    return nameable_for_any(assignable_sections(user), **CUSTODIAN_RULE)
