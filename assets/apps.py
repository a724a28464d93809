from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = _("Information assets")

    def ready(self):
        from isms.portal import NavItem, register_nav
        from isms.signals import demo_seeded

        from . import demo
        from .access import can_use_register

        register_nav(NavItem(_("Information assets"), "asset-list", can_use_register, order=40))
        demo_seeded.connect(demo.seed_demo_assets, dispatch_uid="assets_demo")

        from isms.signals import unit_merged

        from .services import pass_assets_to_successor

        unit_merged.connect(pass_assets_to_successor, dispatch_uid="assets_to_successor")

        from isms.portal import register_summary_section

        from . import tasks

        register_summary_section(tasks.summary_asset_reviews)

        from isms.portal import DashboardChart, register_dashboard_chart

        from .dashboard import classification_mix

        register_dashboard_chart(
            DashboardChart("assets", _("Asset classification mix"), classification_mix, 50)
        )

        from isms.imports import ImportKind, register_import_kind

        from . import transfer

        register_import_kind(
            ImportKind(
                code=transfer.IMPORT_KIND,
                label=_("Import assets"),
                run=transfer.run_import_job,
                permission="manage_assets",
                done_url="asset-list",
                start_url="asset-import",
            )
        )
