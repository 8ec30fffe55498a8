from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from incidents.api import IncidentViewSet
from incidents.api import api_urls as incident_api_urls
from notifications import views as notification_views
from notifications.api import api_urls as notification_api_urls
from riskassess.api import api_urls as risk_api_urls

from . import passkeys, second_factor, views
from .api import AuditVerifyView, MeView, OrgUnitViewSet, TokenView
from .api import api_urls as control_api_urls

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("incidents", IncidentViewSet, basename="incident")
router.register("org-units", OrgUnitViewSet, basename="org-unit")

api_v1 = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("me/", MeView.as_view(), name="me"),
    path("audit/verify/", AuditVerifyView.as_view(), name="audit-verify"),
    *control_api_urls(),
    *notification_api_urls(),
    *risk_api_urls(),
    *incident_api_urls(),
    *router.urls,
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="incidents:list", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/code/", second_factor.second_factor, name="second-factor"),
    path("accounts/code/set-up/", second_factor.second_factor_setup, name="second-factor-setup"),
    path("accounts/passkeys/", include((passkeys.urlpatterns, "otp_webauthn"))),
    path("accounts/security/", passkeys.sign_in_security, name="sign-in-security"),
    path("accounts/security/passkeys/<int:pk>/remove/", passkeys.passkey_remove, name="passkey-remove"),
    path("incidents/", include("incidents.urls")),
    path("incidents/", include("riskassess.urls")),
    path("tasks/", notification_views.my_tasks, name="tasks"),
    path("controls/", views.controls_register, name="controls"),
    path("controls/new/", views.control_new, name="control-new"),
    path("", include("notifications.urls")),
    path("health/live/", views.health_live, name="health-live"),
    path("health/ready/", views.health_ready, name="health-ready"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
]

handler404 = "breachdesk.views.page_not_found"
handler500 = "breachdesk.views.server_error"
