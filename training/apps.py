from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = _("Security training")

    def ready(self):
        from isms.portal import NavItem, register_nav, register_summary_section
        from isms.signals import people_moved

        from . import access, services, tasks

        people_moved.connect(services.enrol_people_who_moved, dispatch_uid="enrol_movers")

        register_nav(NavItem(_("Security training"), "my-courses", lambda user: True, order=25))
        register_nav(
            NavItem(
                _("Training completion"),
                "course-completion",
                access.can_follow_completion,
                order=35,
            )
        )
        register_summary_section(tasks.summary_training)

        from isms.portal import DashboardChart, register_dashboard_chart

        from .dashboard import training_completion

        register_dashboard_chart(
            DashboardChart("training", _("Training completion"), training_completion, 20)
        )

        from isms.signals import demo_seeded

        from .demo import seed_demo_training

        demo_seeded.connect(seed_demo_training, dispatch_uid="training_demo")
