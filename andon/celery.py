"""Celery application. Without REDIS_URL, tasks run eagerly in-process (demo mode). Beat's
schedule is what the apps declare (:mod:`andon.periodic`), set when Django starts."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "andon.settings")

app = Celery("andon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
