"""Pages of the production core: the site list, the floor, work orders, notifications."""

from django.urls import path

from mes import audit_views, machine_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("floor/<str:site_code>/", views.floor, name="floor"),
    path("work-orders/<int:pk>/", views.work_order_detail, name="work-order"),
    path("work-orders/<int:pk>/<str:verb>/", views.work_order_action, name="work-order-action"),
    path("machines/<str:site_code>/downtimes/", machine_views.downtime_list, name="downtimes"),
    path(
        "machines/downtime/<int:pk>/reason/", machine_views.downtime_reason, name="downtime-reason"
    ),
    path("machines/<str:site_code>/oee/", machine_views.oee_page, name="oee"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notification_read_all, name="notifications-read"),
    path(
        "notifications/preferences/",
        views.notification_preferences,
        name="notification-preferences-page",
    ),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification-open"),
    path("access-review/", views.access_review_page, name="access-review"),
    path("audit/", audit_views.audit_page, name="audit"),
    path("audit/verify/", audit_views.verify_now, name="audit-verify"),
    path("audit/<str:kind>/<int:pk>/", audit_views.record_page, name="audit-record"),
]
