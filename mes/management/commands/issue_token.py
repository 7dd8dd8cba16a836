"""Issue a named API token for a user (the token is the last word of the output)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mes.errors import DomainError
from mes.models import Site, TokenScope
from mes.services.tokens import create_token, max_token_days, revoke_tokens_of


class Command(BaseCommand):
    help = (
        "Issue a new API token for USERNAME and print it (last word = the token; it is stored "
        "hashed and never shown again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="issued by manage.py", help="What uses it.")
        parser.add_argument("--days", type=int, help="Days until it expires (default: longest).")
        parser.add_argument("--read-only", action="store_true", help="A token that only reads.")
        parser.add_argument(
            "--site", action="append", default=[], help="Limit it to this site (repeatable)."
        )
        parser.add_argument(
            "--rotate", action="store_true", help="Revoke the user's other tokens first."
        )

    def handle(self, *args, username, name, days, read_only, site, rotate, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        sites = list(Site.objects.filter(code__in=site))
        if len(sites) != len(set(site)):
            raise CommandError(f"Unknown site among {', '.join(site)}.")
        expires_at = None
        if days is not None:
            if not 0 < days <= max_token_days():
                raise CommandError(f"--days is between 1 and {max_token_days()}.")
            expires_at = timezone.now() + timedelta(days=days)
        if rotate:
            revoke_tokens_of(user, actor=None, reason="rotated by manage.py issue_token")
        try:
            token, key = create_token(
                user,
                actor=None,
                name=name,
                access=TokenScope.READ if read_only else TokenScope.FULL,
                expires_at=expires_at,
                sites=sites,
                reason="manage.py issue_token",
            )
        except DomainError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(f"Token {token.name!r} expires {token.expires_at:%Y-%m-%d %H:%M} UTC.")
        self.stdout.write(f"API token for {username}: {key}")
