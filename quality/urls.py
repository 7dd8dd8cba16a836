"""Quality's pages, under ``quality/`` (namespace ``quality``)."""

from django.urls import include, path

from . import nc_views, views

app_name = "quality"

pages = [
    path("inspect/<int:pk>/", views.inspect, name="inspect"),
    path("holds/<str:site_code>/", views.hold_list, name="holds"),
    path("hold/<int:pk>/", views.hold_detail, name="hold"),
    path("recall/<str:site_code>/", views.recall_page, name="recall"),
    path("items/<str:code>/", views.item_charts, name="item"),
    path("nc/<int:pk>/", nc_views.nonconformance_detail, name="nonconformance"),
    path("ncs/<str:site_code>/", nc_views.nonconformance_list, name="nonconformances"),
]

urlpatterns = [path("quality/", include((pages, app_name)))]
