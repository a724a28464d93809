from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AcknowledgementsConfig(AppConfig):
    name = "acknowledgements"
    verbose_name = _("Policy acknowledgements")

    def ready(self):
        from isms.portal import (
            NavItem,
            Panel,
            register_nav,
            register_panel,
            register_summary_section,
        )
        from isms.signals import people_moved, revision_published

        from . import access, services, tasks

        revision_published.connect(
            services.open_campaign_on_publication, dispatch_uid="open_campaign"
        )
        people_moved.connect(
            services.give_late_joiners_their_own_deadline, dispatch_uid="late_joiner_deadlines"
        )
        register_nav(
            NavItem(_("My acknowledgements"), "my-acknowledgements", lambda user: True, order=20)
        )
        register_nav(
            NavItem(
                _("Acknowledgement status"), "campaign-list", access.can_follow_status, order=30
            )
        )
        register_panel(
            Panel("acknowledgements/panel_pending.html", services.pending_panel, order=10)
        )
        register_summary_section(tasks.summary_acknowledgements)

        from isms.portal import DashboardChart, register_dashboard_chart

        from .dashboard import acknowledgement_rate

        register_dashboard_chart(
            DashboardChart("acknowledgements", _("Acknowledgement rate"), acknowledgement_rate, 10)
        )

        from isms.signals import demo_seeded

        from .demo import seed_demo_acknowledgements

        demo_seeded.connect(seed_demo_acknowledgements, dispatch_uid="acknowledgements_demo")
