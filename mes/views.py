"""Server-rendered pages (placeholder until the floor pages land)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def home(request):
    return HttpResponse("Andon")


@login_required
def floor(request, site_code):
    return HttpResponse(site_code)


@login_required
def work_order_detail(request, pk):
    return HttpResponse(str(pk))


@login_required
def work_order_action(request, pk, verb):
    return HttpResponse(verb)
