from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import oidc_signin
from .forms import LoginForm
from .views import (
    account,
    dashboard,
    home,
    imports,
    manage,
    mfa,
    notifications,
    personnel,
    policy,
    review,
    tokens,
)

# Two-step verification (isms/views/mfa.py); the passkey endpoints keep django-otp-webauthn's
# namespace, which its script tags reverse.
mfa_passkey_urls = (
    [
        path(
            "registration/begin/",
            mfa.BeginPasskeyRegistration.as_view(),
            name="credential-registration-begin",
        ),
        path(
            "registration/complete/",
            mfa.CompletePasskeyRegistration.as_view(),
            name="credential-registration-complete",
        ),
        path(
            "authentication/begin/",
            mfa.BeginPasskeyVerification.as_view(),
            name="credential-authentication-begin",
        ),
        path(
            "authentication/complete/",
            mfa.CompletePasskeyVerification.as_view(),
            name="credential-authentication-complete",
        ),
        path("jsi18n/", mfa.passkey_catalogue, name="js-i18n-catalog"),
    ],
    "otp_webauthn",
)

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", home.healthz, name="healthz"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
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
    path("policy-review/", review.backlog, name="policy-review-backlog"),
    path("audit-trail/", home.audit_trail, name="audit-trail"),
    path("imports/<int:pk>/", imports.import_job, name="import-job"),
    path("people/imports/", personnel.batch_list, name="personnel-batches"),
    path("people/imports/<int:pk>/", personnel.batch_detail, name="personnel-batch"),
    path(
        "people/imports/<int:pk>/schedule/",
        personnel.batch_schedule,
        name="personnel-batch-schedule",
    ),
    path("people/imports/<int:pk>/cancel/", personnel.batch_cancel, name="personnel-batch-cancel"),
    path("people/<int:pk>/postings/", personnel.person_postings, name="person-postings"),
    path("organisation/", personnel.organisation, name="organisation"),
    path("organisation/<slug:code>/", personnel.unit_detail, name="unit-detail"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.mark_all_read, name="notifications-read"),
    path("accounts/tokens/", tokens.token_list, name="api-tokens"),
    path("accounts/tokens/<int:pk>/revoke/", tokens.token_revoke, name="api-token-revoke"),
    path("training/", include("training.urls")),
    path("acknowledgements/", include("acknowledgements.urls")),
    path("assets/", include("assets.urls")),
    path("audits/", include("audits.urls")),
    path("incidents/", include("incidents.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    # Django's logout, which after an OpenID Connect sign-in also ends the provider's session.
    path("accounts/logout/", oidc_signin.LogoutView.as_view(), name="logout"),
    path("oidc/signin/", oidc_signin.SignInView.as_view(), name="oidc-signin"),
    path("oidc/callback/", oidc_signin.CallbackView.as_view(), name="oidc-callback"),
    # Local accounts and sessions (isms/views/account.py)
    path("accounts/", account.account, name="account"),
    path("accounts/password/change/", account.password_change, name="password_change"),
    path(
        "accounts/password/change/done/",
        account.password_change_done,
        name="password_change_done",
    ),
    path("accounts/password/reset/", account.password_reset, name="password_reset"),
    path("accounts/password/reset/sent/", account.password_reset_done, name="password_reset_done"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        account.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        account.password_reset_complete,
        name="password_reset_complete",
    ),
    path("accounts/sessions/", account.session_list, name="account-sessions"),
    path("accounts/sessions/<int:pk>/end/", account.session_end, name="account-session-end"),
    path(
        "accounts/sessions/end-others/",
        account.sessions_end_others,
        name="account-sessions-end-others",
    ),
    path("mfa/", mfa.settings_page, name="mfa-settings"),
    path("mfa/totp/", mfa.totp_add, name="mfa-totp"),
    path("mfa/recovery-codes/", mfa.recovery_codes, name="mfa-recovery-codes"),
    path("mfa/remove/", mfa.remove, name="mfa-remove"),
    path("mfa/verify/", mfa.verify, name="mfa-verify"),
    path("mfa/passkeys/", include(mfa_passkey_urls)),
    path("i18n/setlang/", home.set_language, name="set_language"),
    path("api/", include("isms.api.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "isms.views.errors.bad_request"
handler403 = "isms.views.errors.permission_denied"
handler404 = "isms.views.errors.page_not_found"
handler500 = "isms.views.errors.server_error"
