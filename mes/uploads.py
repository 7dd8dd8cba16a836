"""Uploads: the size limit is enforced while the body streams in (not after a 2 GB file has
been written to a temporary file), and a file's type is what its first bytes say, not what
the client's header claims."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and the other fields of one form


class UploadTooLarge(RequestDataTooBig):
    """A file over ``ANDON_ATTACHMENT_MAX_BYTES``: answered 400 ``attachment_too_large``."""


class SizeLimitedUploadHandler(FileUploadHandler):
    """First of ``FILE_UPLOAD_HANDLERS``: stops reading once a file passes the limit, and
    refuses at once a body whose declared length could not fit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        limit = settings.ANDON_ATTACHMENT_MAX_BYTES
        if content_length and content_length > limit + MULTIPART_OVERHEAD:
            raise UploadTooLarge("upload larger than the limit")
        return None  # the other handlers parse it

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.ANDON_ATTACHMENT_MAX_BYTES:
            raise UploadTooLarge("upload larger than the limit")
        return raw_data

    def file_complete(self, file_size):
        return None


# Signatures of the types an attachment may have (ANDON_ATTACHMENT_TYPES).
_SIGNATURES = [
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"%PDF-", 0, "application/pdf"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
]


def sniff(upload) -> str | None:
    """The content type the file's first bytes show, or None when none is known."""
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(16)
    upload.seek(position)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, offset, content_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return content_type
    return None
