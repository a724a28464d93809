"""Sign-in with the city's directory (LDAP / Active Directory) through django-auth-ldap.

Configured by the LDAP_* settings (isms/settings/base.py, README "Signing in with the city's
directory"), which are plain values so that the portal imports python-ldap only when the
directory is on; DirectoryBackend turns them into django-auth-ldap's own settings.

django-auth-ldap binds (as the person, or searches with a service account and then binds as
them) and reads the entry; who that entry is in the portal is decided by
isms.accounts.person_for_sign_in, never by the library's own rules, so a directory sign-in
and an OpenID Connect one match people alike. What went wrong is left on the request
(sign_in_problem: the words the sign-in page shows; sign_in_failure_reason: what the audit
trail's failed sign-in keeps), because the library answers a failure with None only.

Roles from directory groups (LDAP_GROUP_ROLES): a global role (auditor, CISO, programme
admin) is held over the whole city; a departmental one (section chief, department head) over
the person's own unit, as the directory's section code sets it. The directory takes back
only the roles it gave (isms.models.DirectoryRoleGrant), never one given on the portal's
role page; all of them through isms.roles, so the department permissions and the audit
trail follow.
"""

import logging
from typing import Any

import ldap
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_auth_ldap.backend import LDAPBackend, ldap_error
from django_auth_ldap.config import LDAPSearch, LDAPSettings, MemberDNGroupType

from .accounts import DirectoryPerson, SignInRefused, person_for_sign_in
from .models import GLOBAL_ROLES, DirectoryRoleGrant, Role, RoleAssignment, User
from .roles import assign_role, revoke_role

logger = logging.getLogger(__name__)

# Active Directory's userAccountControl flag ACCOUNTDISABLE.
ACCOUNT_DISABLED = 0x2

NOT_REGISTERED = _(
    "Your directory account is not registered in the portal. Ask the information security "
    "programme office to register you."
)
DISABLED = _(
    "Your directory account is disabled. Ask the directory's administrators (the IT "
    "helpdesk) if that is a mistake."
)
UNREACHABLE = _(
    "The city directory cannot be reached just now; try again later. The programme "
    "office's emergency account still signs in."
)


class DirectoryAccountDisabled(SignInRefused):
    """The directory itself has disabled the account."""


def _note(request: HttpRequest | None, problem: Any, reason: str) -> None:
    if request is not None:
        request.sign_in_problem = problem  # type: ignore[attr-defined]
        request.sign_in_failure_reason = reason  # type: ignore[attr-defined]


def _person_attributes() -> list[str]:
    return [
        name
        for name in (
            settings.LDAP_ATTR_USERNAME,
            settings.LDAP_ATTR_DISPLAY_NAME,
            settings.LDAP_ATTR_EMAIL,
            settings.LDAP_ATTR_STAFF_NUMBER,
            settings.LDAP_ATTR_SECTION_CODE,
            settings.LDAP_ACCOUNT_CONTROL_ATTR,
        )
        if name
    ]


def library_settings() -> dict[str, Any]:
    """django-auth-ldap's settings from the portal's LDAP_* settings."""
    timeout = settings.LDAP_TIMEOUT_SECONDS
    options: dict[int, Any] = {
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
        # Active Directory answers a search of the domain with referrals that would be
        # followed anonymously (and hang); the portal needs none.
        ldap.OPT_REFERRALS: 0,
    }
    if settings.LDAP_CA_FILE:
        options[ldap.OPT_X_TLS_CACERTFILE] = settings.LDAP_CA_FILE
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        # Last: python-ldap builds the TLS context from the options set before it.
        options[ldap.OPT_X_TLS_NEWCTX] = 0
    attributes = _person_attributes()
    values: dict[str, Any] = {
        "SERVER_URI": settings.LDAP_SERVER_URI,
        "START_TLS": settings.LDAP_START_TLS,
        "CONNECTION_OPTIONS": options,
        "BIND_DN": settings.LDAP_BIND_DN,
        "BIND_PASSWORD": settings.LDAP_BIND_PASSWORD,
        # The entry and its groups are read as the person, once their password is known.
        "BIND_AS_AUTHENTICATING_USER": True,
        "USER_DN_TEMPLATE": settings.LDAP_USER_DN_TEMPLATE or None,
        "USER_SEARCH": None,
        "USER_ATTRLIST": attributes,
        # person_for_sign_in updates the person; the library maps and saves nothing itself.
        "USER_ATTR_MAP": {},
        "ALWAYS_UPDATE_USER": False,
        "CACHE_TIMEOUT": 0,
        "GROUP_SEARCH": None,
        "GROUP_TYPE": None,
    }
    if not settings.LDAP_USER_DN_TEMPLATE:
        values["USER_SEARCH"] = LDAPSearch(
            settings.LDAP_USER_SEARCH_BASE,
            ldap.SCOPE_SUBTREE,
            settings.LDAP_USER_SEARCH_FILTER,
            attributes,
        )
    if settings.LDAP_GROUP_SEARCH_BASE and settings.LDAP_GROUP_ROLES:
        values["GROUP_SEARCH"] = LDAPSearch(
            settings.LDAP_GROUP_SEARCH_BASE,
            ldap.SCOPE_SUBTREE,
            settings.LDAP_GROUP_SEARCH_FILTER,
            ["cn"],
        )
        # Both Active Directory's groups and OpenLDAP's groupOfNames list members by DN.
        values["GROUP_TYPE"] = MemberDNGroupType("member")
    return values


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap, configured by the LDAP_* settings, finding people through
    isms.accounts.person_for_sign_in."""

    _settings: LDAPSettings | None = None

    @property
    def settings(self) -> LDAPSettings:
        if self._settings is None:
            library = LDAPSettings(self.settings_prefix, {})
            # The portal's settings win over any AUTH_LDAP_* left in the environment's
            # settings: one place of configuration.
            for name, value in library_settings().items():
                setattr(library, name, value)
            self._settings = library
        return self._settings

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except DirectoryAccountDisabled as refusal:
            logger.info("directory sign-in of %r refused: %s", username, refusal)
            _note(request, DISABLED, str(refusal))
        except SignInRefused as refusal:
            logger.info("directory sign-in of %r refused: %s", username, refusal)
            _note(request, NOT_REGISTERED, str(refusal))
        return None

    def get_user(self, user_id: int) -> AbstractBaseUser | None:
        user = super().get_user(user_id)
        # A person deactivated in the portal loses the session they have, as with local
        # passwords (ModelBackend).
        if user is not None and not user.is_active:
            return None
        return user

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[User, bool]:
        attrs = ldap_user.attrs or {}
        if _is_disabled(ldap_user, attrs):
            raise DirectoryAccountDisabled("directory account disabled")
        found = DirectoryPerson(
            username=_first(attrs, settings.LDAP_ATTR_USERNAME) or username,
            staff_number=_first(attrs, settings.LDAP_ATTR_STAFF_NUMBER),
            display_name=_first(attrs, settings.LDAP_ATTR_DISPLAY_NAME),
            email=_first(attrs, settings.LDAP_ATTR_EMAIL),
            section_code=_first(attrs, settings.LDAP_ATTR_SECTION_CODE),
        )
        person = person_for_sign_in(found, source="ldap")
        if self.settings.GROUP_SEARCH is not None:
            sync_directory_roles(person, ldap_user.group_dns, request=ldap_user._request)
        return person, False


def _first(attrs: Any, name: str) -> str:
    values = attrs.get(name) if name else None
    return str(values[0]).strip() if values else ""


def _is_disabled(ldap_user: Any, attrs: Any) -> bool:
    control = _first(attrs, settings.LDAP_ACCOUNT_CONTROL_ATTR)
    if control.isdigit() and int(control) & ACCOUNT_DISABLED:
        return True
    if settings.LDAP_DISABLED_FILTER:
        matched = ldap_user.connection.search_s(
            ldap_user.dn, ldap.SCOPE_BASE, settings.LDAP_DISABLED_FILTER, ["1.1"]
        )
        return bool(matched)
    return False


def _normal(dn: str) -> str:
    try:
        return ldap.dn.dn2str(ldap.dn.str2dn(dn)).lower()
    except ldap.DECODING_ERROR:
        return dn.strip().lower()


def sync_directory_roles(
    person: User, group_dns: set[str], *, request: HttpRequest | None = None
) -> None:
    """Give the roles LDAP_GROUP_ROLES maps the person's groups to, and take back those the
    directory gave earlier that no group gives any more."""
    member_of = {_normal(dn) for dn in group_dns}
    wanted: dict[tuple[str, int | None], str] = {}
    for group_dn, name in settings.LDAP_GROUP_ROLES.items():
        try:
            role = Role(name)
        except ValueError:
            # The safe way to be wrong: the person signs in without the role.
            logger.error(
                "LDAP_GROUP_ROLES maps %s to %r, which is not a role (%s)",
                group_dn,
                name,
                ", ".join(Role.values),
            )
            continue
        if _normal(group_dn) not in member_of:
            continue
        if role in GLOBAL_ROLES:
            wanted.setdefault((role, None), group_dn)
        elif person.section_id is None:
            logger.warning(
                "%s is in %s (%s) but belongs to no unit of the portal", person, group_dn, role
            )
        else:
            wanted.setdefault((role, person.section_id), group_dn)

    for grant in DirectoryRoleGrant.objects.filter(assignment__user=person).select_related(
        "assignment"
    ):
        key = (grant.assignment.role, grant.assignment.department_id)
        if wanted.pop(key, None) is None:
            revoke_role(grant.assignment, request=request)
    for (given, department_id), group_dn in wanted.items():
        department = person.section if department_id else None
        if RoleAssignment.objects.filter(user=person, role=given, department=department).exists():
            # Given on the role page: the directory neither claims it nor ever takes it.
            continue
        assignment = assign_role(person, given, department, request=request)
        DirectoryRoleGrant.objects.create(assignment=assignment, group_dn=group_dn)


@receiver(ldap_error, sender=DirectoryBackend)
def _directory_error(
    sender: type,
    context: str,
    user: Any,
    request: HttpRequest | None,
    exception: Exception,
    **kwargs: Any,
) -> None:
    if isinstance(exception, ldap.SERVER_DOWN | ldap.TIMEOUT | ldap.CONNECT_ERROR):
        logger.error("the directory cannot be reached (%s): %s", context, exception)
        _note(request, UNREACHABLE, "directory unreachable")
    else:
        logger.warning("directory error %s: %s", context, exception)
