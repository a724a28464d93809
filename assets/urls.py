from django.urls import path

from . import views

urlpatterns = [
    path("", views.asset_list, name="asset-list"),
    path("new/", views.asset_create, name="asset-create"),
    path("export/", views.asset_export, name="asset-export"),
    path("import/", views.asset_import, name="asset-import"),
    path("template.<str:extension>", views.import_template, name="asset-template"),
    path("rules/", views.rule_findings, name="asset-rules"),
    path("reviews/", views.review_overview, name="asset-reviews"),
    path("pickers/custodians/", views.custodian_search, name="asset-custodian-search"),
    path("<int:pk>/", views.asset_detail, name="asset-detail"),
    path("<int:pk>/edit/", views.asset_edit, name="asset-edit"),
    path("<int:pk>/review/", views.asset_review, name="asset-review"),
    path("<int:pk>/relations/", views.relation_add, name="asset-relation-add"),
    path("<int:pk>/relations/search/", views.relation_search, name="asset-relation-search"),
    path(
        "<int:pk>/relations/<int:relation_pk>/delete/",
        views.relation_remove,
        name="asset-relation-remove",
    ),
]
