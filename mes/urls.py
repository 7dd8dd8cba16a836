"""Project URLs: pages, admin, API v1 and its OpenAPI schema and docs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from integrations.erp import views as erp_views
from mes import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("floor/<str:site_code>/", views.floor, name="floor"),
    path("work-orders/<int:pk>/", views.work_order_detail, name="work-order"),
    path("work-orders/<int:pk>/<str:verb>/", views.work_order_action, name="work-order-action"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notification_read_all, name="notifications-read"),
    path(
        "notifications/preferences/",
        views.notification_preferences,
        name="notification-preferences-page",
    ),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification-open"),
    path("exceptions/", include("exceptions.urls")),
    path("erp/reconciliation/", erp_views.reconciliation_page, name="erp-reconciliation"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("mes.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
]
