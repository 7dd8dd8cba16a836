"""The imports' pages, under ``imports/`` (namespace ``legacy``; mounted by andon.urls)."""

from django.urls import include, path

from . import views

app_name = "legacy"

pages = [
    path("<str:site_code>/", views.import_list, name="imports"),
    path("job/<int:pk>/", views.job_page, name="job"),
    path("job/<int:pk>/mapping/", views.job_mapping, name="job-mapping"),
    path("job/<int:pk>/commit/", views.job_commit, name="job-commit"),
]
urlpatterns = [path("imports/", include((pages, app_name)))]
