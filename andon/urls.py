"""Root URLs: sign-in, the admin, API v1 with its OpenAPI schema and docs, and every app's
pages (its ``urls`` module) and API routes (its ``api.urls`` module)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .api import api_urlpatterns
from .discovery import collect

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns())),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    *collect("urls", "urlpatterns"),
]

handler400 = "andon.views.bad_request"
handler404 = "andon.views.not_found"
handler500 = "andon.views.server_error"
