from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .forms import LoginForm
from .views import home, imports, manage, notifications, policy, tokens

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("policy/", policy.public_policy, name="public-policy"),
    path("policies/", policy.document_list, name="document-list"),
    path("policies/<slug:code>/", policy.document_detail, name="document-detail"),
    path("policies/<slug:code>/diff/", policy.revision_diff, name="revision-diff"),
    path(
        "policies/<slug:code>/revisions/<int:number>/",
        policy.revision_detail,
        name="revision-detail",
    ),
    path("manage/policies/", manage.manage_index, name="manage-index"),
    path("manage/policies/<slug:code>/new/", manage.revision_new, name="manage-revision-new"),
    path("manage/revisions/<int:pk>/", manage.revision_manage, name="manage-revision"),
    path("manage/revisions/<int:pk>/edit/", manage.revision_edit, name="manage-revision-edit"),
    path(
        "manage/revisions/<int:pk>/<slug:action>/",
        manage.revision_action,
        name="manage-revision-action",
    ),
    path("audit-trail/", home.audit_trail, name="audit-trail"),
    path("imports/<int:pk>/", imports.import_job, name="import-job"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.mark_all_read, name="notifications-read"),
    path("account/tokens/", tokens.token_list, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", tokens.token_revoke, name="api-token-revoke"),
    path("training/", include("training.urls")),
    path("acknowledgements/", include("acknowledgements.urls")),
    path("assets/", include("assets.urls")),
    path("audits/", include("audits.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", home.set_language, name="set_language"),
    path("api/", include("isms.api.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "isms.views.errors.bad_request"
handler403 = "isms.views.errors.permission_denied"
handler404 = "isms.views.errors.page_not_found"
handler500 = "isms.views.errors.server_error"
