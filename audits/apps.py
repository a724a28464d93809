from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = _("Audits and self-inspections")

    def ready(self):
        from isms.portal import NavItem, Panel, register_nav, register_revision_panel
        from isms.signals import demo_seeded

        from . import demo
        from .access import uses_audits
        from .views import addressed_findings_panel

        register_nav(NavItem(_("Audits"), "audit-cycle-list", uses_audits, order=50))
        demo_seeded.connect(demo.seed_demo_audits, dispatch_uid="audits_demo")

        from isms.signals import unit_merged

        from .services import pass_records_to_successor

        unit_merged.connect(pass_records_to_successor, dispatch_uid="audit_records_to_successor")
        register_revision_panel(
            Panel("audits/panel_addressed_findings.html", addressed_findings_panel)
        )

        from isms.portal import register_summary_section

        from . import tasks

        register_summary_section(tasks.summary_findings)

        from isms.portal import DashboardChart, register_dashboard_chart

        from .dashboard import open_findings_by_area, overdue_actions

        register_dashboard_chart(
            DashboardChart("findings", _("Open findings by area"), open_findings_by_area, 30)
        )
        register_dashboard_chart(
            DashboardChart("overdue", _("Overdue corrective actions"), overdue_actions, 40)
        )
