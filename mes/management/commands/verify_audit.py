"""Verify the audit chains: exit 0 when every history row and timeline entry is intact,
1 when a link is broken (each table's first broken link is printed), 2 when this database
keeps no chains (SQLite)."""

import sys

from django.core.management.base import BaseCommand

from mes.audit.verify import verify


class Command(BaseCommand):
    help = "Verify the tamper evidence of every history and timeline row (docs/audit.md)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-checkpoint",
            action="store_true",
            help="Do not record a checkpoint for the tables found intact.",
        )

    def handle(self, *args, no_checkpoint, verbosity, **options):
        def progress(done, total, table):
            if verbosity > 1:
                self.stderr.write(f"[{done}/{total}] {table}")

        report = verify(checkpoint=not no_checkpoint, started_by="manage.py", progress=progress)
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        if not report.tables:
            sys.exit(2)
        rate = report.rows / report.seconds if report.seconds else 0
        self.stdout.write(
            f"{report.rows} rows in {report.tables} tables verified in {report.seconds:.1f} s "
            f"({rate:,.0f} rows/s)"
        )
        for broken in report.breaks:
            self.stdout.write(f"BROKEN {broken.describe()}")
        if report.breaks:
            sys.exit(1)
        self.stdout.write(f"intact; anchor {report.anchor}")
