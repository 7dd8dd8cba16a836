"""``/api/v1/imports/`` routes (collected by :mod:`andon.api`)."""

from .views import ImportJobViewSet

routes = [("imports", ImportJobViewSet, "importjob")]
urlpatterns = []
