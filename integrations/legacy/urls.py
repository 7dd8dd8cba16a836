"""The imports' pages and the execution audit (namespace ``legacy``; mounted by andon.urls)."""

from django.urls import include, path

from . import views

app_name = "legacy"

pages = [
    path("imports/<str:site_code>/", views.import_list, name="imports"),
    path("imports/job/<int:pk>/", views.job_page, name="job"),
    path("imports/job/<int:pk>/mapping/", views.job_mapping, name="job-mapping"),
    path("imports/job/<int:pk>/commit/", views.job_commit, name="job-commit"),
    path("execution-audit/<str:site_code>/", views.execution_audit, name="execution-audit"),
]
urlpatterns = [path("", include((pages, app_name)))]
