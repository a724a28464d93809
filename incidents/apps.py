from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents and emergency response")

    def ready(self):
        from isms.portal import (
            DashboardChart,
            NavItem,
            register_dashboard_chart,
            register_header_action,
            register_nav,
            register_summary_section,
        )
        from isms.review import ReviewSource, register_source
        from isms.signals import demo_seeded

        from . import access, dashboard, demo, services, tasks

        # Everyone signed in: a member of staff finds their own reports here.
        register_nav(NavItem(_("Incidents"), "incident-list", access.reports, order=60))
        register_header_action(
            NavItem(_("Report a security incident"), "incident-report", access.reports)
        )
        register_source(
            ReviewSource("incidents.lesson", _("Incident lesson"), services.lesson_ids_visible_to)
        )
        register_summary_section(tasks.summary_incidents)
        register_dashboard_chart(
            DashboardChart("incidents-month", _("Incidents per month"), dashboard.per_month, 50)
        )
        register_dashboard_chart(
            DashboardChart(
                "incidents-category", _("Incidents by category"), dashboard.per_category, 51
            )
        )
        register_dashboard_chart(
            DashboardChart(
                "incidents-department", _("Incidents by department"), dashboard.per_department, 52
            )
        )
        demo_seeded.connect(demo.seed_demo_incidents, dispatch_uid="incidents_demo")
