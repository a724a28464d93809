from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = _("Audits and self-inspections")

    def ready(self):
        from isms.portal import NavItem, register_nav
        from isms.review import ReviewSource, register_source
        from isms.signals import demo_seeded

        from . import access, demo
        from .services import FINDING_KIND

        register_nav(NavItem(_("Audits"), "audit-cycle-list", access.uses_audits, order=50))
        # Findings the auditor flags go to the core's policy review backlog, shown to those
        # who may read the finding.
        register_source(
            ReviewSource(
                FINDING_KIND,
                _("Audit finding"),
                lambda user: access.visible_findings(user).values("pk"),
            )
        )
        demo_seeded.connect(demo.seed_demo_audits, dispatch_uid="audits_demo")

        from isms.signals import unit_merged

        from .services import pass_records_to_successor

        unit_merged.connect(pass_records_to_successor, dispatch_uid="audit_records_to_successor")

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
