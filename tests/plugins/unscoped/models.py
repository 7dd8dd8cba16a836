from django.db import models

from mes.models import Site


class Gadget(models.Model):
    """Has a site, but says nothing about how it is scoped."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=20)
