"""Celery application. Without REDIS_URL, tasks run eagerly in-process (demo mode)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")

app = Celery("andon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
