"""Answers about a person that one request asks many times (the roles they hold, from which
isms.roles answers whether they manage assets, oversee a department, use audits), kept on
the user object, which lives for one request.

All of them sit in one dict on the user, so that isms.roles.assign_role(), revoke_role()
and sync_department_permissions() forget every one of them at once: a role that changes
takes effect on the same user object at once. Apps ask isms.roles, not this module.
"""

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# getattr/setattr rather than the instance's __dict__: request.user is a SimpleLazyObject,
# which forwards attribute access to the user but has a __dict__ of its own.
_ATTRIBUTE = "_isms_memo"


def cached(user: Any, key: str, compute: Callable[[], T]) -> T:
    """compute(), once per user object and key."""
    memo = getattr(user, _ATTRIBUTE, None)
    if memo is None:
        memo = {}
        setattr(user, _ATTRIBUTE, memo)
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def forget(user: Any) -> None:
    """Drop every answer cached on the user object."""
    if getattr(user, _ATTRIBUTE, None) is not None:
        setattr(user, _ATTRIBUTE, None)
