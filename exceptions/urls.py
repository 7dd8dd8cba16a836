"""Floor pages for exception tickets, under ``exceptions/`` (namespace ``exceptions``)."""

from django.urls import include, path

from . import views

app_name = "exceptions"

pages = [
    path("mine/", views.my_queue, name="mine"),
    path("site/<str:site_code>/", views.site_list, name="site"),
    path("board/<str:site_code>/", views.board_page, name="board"),
    path("board/<str:site_code>/fragment/", views.board_fragment, name="board-fragment"),
    path("raise/<str:site_code>/", views.raise_types, name="raise"),
    path("raise/<str:site_code>/<slug:type_code>/", views.raise_form, name="raise-form"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/transition/", views.transition, name="transition"),
    path("<int:pk>/decision/", views.decide, name="decision"),
    path("<int:pk>/comment/", views.comment, name="comment"),
]

urlpatterns = [path("exceptions/", include((pages, app_name)))]
