from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = _("Acknowledgements and training")

    def ready(self):
        from isms.portal import NavItem, Panel, register_nav, register_panel
        from isms.roles import oversees_any_department
        from isms.signals import revision_published

        from . import acknowledgements

        revision_published.connect(
            acknowledgements.open_campaign_on_publication, dispatch_uid="open_campaign"
        )
        register_nav(
            NavItem(_("My acknowledgements"), "my-acknowledgements", lambda user: True, order=20)
        )
        register_nav(
            NavItem(_("Acknowledgement status"), "campaign-list", oversees_any_department, order=30)
        )
        register_nav(NavItem(_("Security training"), "my-courses", lambda user: True, order=25))
        register_nav(
            NavItem(
                _("Training completion"), "course-completion", oversees_any_department, order=35
            )
        )
        register_panel(
            Panel("training/panel_pending.html", acknowledgements.pending_panel, order=10)
        )

        from isms.portal import register_summary_section

        from . import tasks

        register_summary_section(tasks.summary_acknowledgements)
        register_summary_section(tasks.summary_training)
