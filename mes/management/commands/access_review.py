"""Print the access review (as CSV with --csv) for every account, as a superuser sees it."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from mes.services import review


class Command(BaseCommand):
    help = (
        "The access review: superusers and managers, dormant accounts, what expires, vendor "
        "and service accounts, access granted in the last 30 days."
    )

    def add_arguments(self, parser):
        parser.add_argument("--csv", action="store_true", help="CSV on stdout.")
        parser.add_argument("--as", dest="reviewer", help="Review as this manager (default: all).")

    def handle(self, *args, csv, reviewer, **options):
        users = get_user_model().objects
        actor = users.filter(username=reviewer).first() if reviewer else None
        if reviewer and actor is None:
            raise CommandError(f"No user named {reviewer!r}.")
        actor = actor or users.model(username="manage.py", is_superuser=True, is_active=True)
        found = review.access_review(actor)
        if csv:
            self.stdout.write(review.review_csv(found), ending="")
            return
        for key, label in review.SECTIONS.items():
            rows = found.section(key)
            self.stdout.write(f"{label} ({len(rows)})")
            for row in rows:
                when = f"{row.when:%Y-%m-%d %H:%M}" if row.when else "-"
                self.stdout.write(f"  {row.account:<24} {row.detail:<40} {when}")
