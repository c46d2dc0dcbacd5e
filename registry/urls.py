from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from . import views
from .auth import views as auth_pages
from .auth.lockout import LoginForm
from .office import views as office_pages

urlpatterns = [
    path("", views.home, name="home"),
    # One attempt at a time per username and address, so the lockout counts exactly (registry/auth/lockout.py).
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/otp/", auth_pages.otp_verify, name="otp-verify"),
    path("accounts/otp/setup/", auth_pages.otp_setup, name="otp-setup"),
    path("accounts/otp/backup-codes/", auth_pages.otp_backup_codes, name="otp-backup-codes"),
    path("accounts/otp/backup-codes.txt", auth_pages.otp_backup_codes_download, name="otp-backup-codes-download"),
    path("accounts/password/", auth_pages.PasswordChangeView.as_view(), name="password-change"),
    path(
        "accounts/invitation/<str:uidb64>/<str:token>/",
        office_pages.invitation_accept_page,
        name="invitation-accept",
    ),
    path("office/", include("registry.office.urls")),
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/<int:notification_id>/read/", views.notification_read, name="notification-read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications-read-all"),
    path("notifications/settings/", views.notification_settings, name="notification-settings"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("registry.api.urls")),
    path("api/v1/", include("prescriptions.api.urls")),
    path("api/v1/", include("reports.api_urls")),
    path("prescriptions/", include("prescriptions.web.urls")),
    path("fhir/", include("prescriptions.api.fhir_urls")),
    path("reports/", include("reports.urls")),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("health/", views.health, name="health"),
]

handler403 = "registry.views.permission_denied"
handler404 = "registry.views.page_not_found"
# Errors raised outside a view too: the database down is a 503, API errors are JSON, pages the friendly 500
# (registry/middleware.py).
handler500 = "registry.middleware.server_error"
