"""The configuration's generation: one row whose token changes, in the changing transaction,
whenever configuration does (:mod:`mes.config_cache`)."""

from django.db import models

from .base import INTERNAL, InternalQuerySet


class ConfigGeneration(models.Model):
    scope = INTERNAL

    token = models.CharField(max_length=32)

    objects = InternalQuerySet.as_manager()

    def __str__(self) -> str:
        return self.token
