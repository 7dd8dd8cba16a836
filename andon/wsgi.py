"""WSGI entry point (HTTP only; production serves ASGI, see README)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "andon.settings")

application = get_wsgi_application()
