from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class IsmsConfig(AppConfig):
    name = "isms"
    verbose_name = _("Organisation and policy")

    def ready(self):
        # The settings leave SECRET_KEY empty when DEBUG is off and none is set
        # (isms/settings/base.py): every command and process refuses to start.
        try:
            settings.SECRET_KEY  # noqa: B018 - Django raises when it is empty
        except ImproperlyConfigured:
            raise ImproperlyConfigured(
                "SECRET_KEY must be set when DEBUG is off (see README, Configuration)."
            ) from None
        from . import (
            accounts,  # noqa: F401 - connects the sign-in receivers of the audit trail
            mfa,  # noqa: F401 - connects its sign-in receiver
            sessions,  # noqa: F401 - connects the receivers that record sessions
            tasks,  # noqa: F401 - registers the core's jobs, which services queue by name
            tokens,  # noqa: F401 - connects the receivers that revoke API tokens
        )
        from .portal import NavItem, Panel, register_nav, register_revision_panel
        from .review import reads_backlog
        from .roles import (
            can_manage_policy,
            can_read_audit_trail,
            can_see_dashboard,
            is_programme_admin,
        )
        from .views.review import revision_panel

        register_nav(
            NavItem(_("Basic policy"), "public-policy", lambda user: True, order=5, public=True)
        )
        register_nav(NavItem(_("Policies"), "document-list", lambda user: True, order=10))
        register_nav(NavItem(_("Dashboard"), "dashboard", can_see_dashboard, order=12))
        register_nav(NavItem(_("Policy review"), "policy-review-backlog", reads_backlog, order=75))
        register_nav(NavItem(_("Manage policy"), "manage-index", can_manage_policy, order=80))
        register_nav(NavItem(_("Audit trail"), "audit-trail", can_read_audit_trail, order=90))
        register_nav(
            NavItem(_("People and organisation"), "personnel-batches", is_programme_admin, order=85)
        )
        register_nav(NavItem(_("API tokens"), "api-tokens", lambda user: True, order=95))
        register_revision_panel(Panel("review/revision_panel.html", revision_panel))
