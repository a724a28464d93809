from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IsmsConfig(AppConfig):
    name = "isms"
    verbose_name = _("Organisation and policy")

    def ready(self):
        from .portal import NavItem, register_nav
        from .roles import can_manage_policy, can_read_audit_trail

        register_nav(NavItem(_("Policies"), "document-list", lambda user: True, order=10))
        register_nav(NavItem(_("Manage policy"), "manage-index", can_manage_policy, order=80))
        register_nav(NavItem(_("Audit trail"), "audit-trail", can_read_audit_trail, order=90))
