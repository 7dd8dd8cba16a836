"""Seed the demo plant: every app's ``demo.seed(plant)`` in app order (``mes`` first: two sites,
work centers, machines, items, lots, ~40 work orders in every status, one user per role per
site). Runs once: a database that has site P1 is left alone."""

import random
from types import SimpleNamespace

from django.core.management.base import BaseCommand
from django.db import transaction

from andon.discovery import app_modules
from mes.demo import PASSWORD
from mes.models import Site


class Command(BaseCommand):
    help = "Seed the demo plant (sites P1, P2; users <role>_p1/<role>_p2, password andon-demo)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7, help="Random seed (deterministic data).")

    def handle(self, *args, seed: int, **options):
        if Site.objects.filter(code="P1").exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        plant = SimpleNamespace(rng=random.Random(seed), sites=[], users={})  # noqa: S311
        with transaction.atomic():
            for module in app_modules("demo"):
                module.seed(plant)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded P1 and P2. Sign in as e.g. supervisor_p1 / {PASSWORD} (see README)."
            )
        )
