"""What is added to a ticket without moving it: comments and attachments (photos from the
floor)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from mes.errors import InvalidInput
from mes.services import authorize, save_with_history
from mes.uploads import sniff

from ..choices import EventKind
from ..models import Attachment, ExceptionEvent, ExceptionTicket
from .base import CHANGE_PERM, add_to_timeline, emit_ticket_event, lock_ticket


def comment_exception(
    ticket: ExceptionTicket, *, actor, text: str, expected_version: int | None = None
) -> ExceptionEvent:
    """Add a comment to the timeline (anyone who may change exceptions at the site)."""
    authorize(actor, CHANGE_PERM, ticket.site_id)
    text = (text or "").strip()
    if not text:
        raise InvalidInput(
            _("The comment is empty."),
            code="empty_comment",
            fields={"text": [_("This field is required.")]},
        )
    with transaction.atomic():
        locked = lock_ticket(ticket, expected_version)
        event = add_to_timeline(locked, EventKind.COMMENTED, actor=actor, message=text[:4000])
        emit_ticket_event("exception.commented", locked, actor=actor, comment=text[:500])
    return event


def add_attachment(
    ticket: ExceptionTicket, *, actor, upload, expected_version: int | None = None
) -> Attachment:
    """Attach a photo or document within ANDON_ATTACHMENT_MAX_BYTES and ANDON_ATTACHMENT_TYPES
    (the type read from the content: :func:`mes.uploads.sniff`)."""
    authorize(actor, CHANGE_PERM, ticket.site_id)
    # The type is what the first bytes say, whatever the client's header claims.
    content_type = sniff(upload) or ""
    if content_type not in settings.ANDON_ATTACHMENT_TYPES:
        raise InvalidInput(
            _("Files of type %(t)s are not accepted.") % {"t": content_type or "?"},
            code="attachment_type",
            fields={"file": [_("Type not accepted.")]},
        )
    if upload.size > settings.ANDON_ATTACHMENT_MAX_BYTES:
        raise InvalidInput(
            _("The file is larger than %(n)s bytes.") % {"n": settings.ANDON_ATTACHMENT_MAX_BYTES},
            code="attachment_too_large",
            fields={"file": [_("Too large.")]},
        )
    with transaction.atomic():
        locked = lock_ticket(ticket, expected_version)
        attachment = Attachment(
            exception=locked,
            file=upload,
            content_type=content_type,
            size=upload.size,
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        )
        save_with_history(attachment, actor=actor, reason="attachment")
        add_to_timeline(
            locked,
            EventKind.ATTACHMENT,
            actor=actor,
            message=attachment.file.name.rsplit("/", 1)[-1],
            attachment_id=attachment.pk,
        )
        emit_ticket_event(
            "exception.attachment_added", locked, actor=actor, attachment_id=attachment.pk
        )
    return attachment
