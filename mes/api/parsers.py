"""A JSON parser that reads at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (413
``body_too_large`` beyond) and answers 400 for what would otherwise fail deep inside (500): NUL
characters and lone surrogates in strings (PostgreSQL refuses both), numbers that are not
finite (``1e400``, ``NaN``) or too long, and documents nested deeper than ``MAX_DEPTH``."""

from __future__ import annotations

import json
import math
import re

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from mes.texts import bad_text_in

MAX_DEPTH = 32


class BadJson(ParseError):
    default_code = "parse_error"  # the code clients have always seen


class BodyTooLarge(APIException):
    status_code = 413
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "body_too_large"


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# A lone surrogate or a NUL in a parsed string can only come from an escape in the JSON text
# (the decoder refuses raw control characters): \\uD800-\\uDFFF, \\u0000.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_BAD_ESCAPE = re.compile(r"\\u(?:[dD][89abcdefABCDEF]|0000)")


def check_document(data, max_depth: int = MAX_DEPTH, texts: bool = True, raw: str | None = None):
    """Raise :class:`BadJson` for a document nested deeper than ``max_depth`` (a value at
    depth ``max_depth + 1``) or holding a string that cannot be stored (``texts`` False: NUL
    characters are let through, for the caller to refuse). Walks the containers without
    recursion. ``raw``: the JSON text it was parsed from; with no escape in it that could
    make such a string, the strings need no look."""
    stack = [(data, 1)] if type(data) in (dict, list) else []
    while stack:
        value, depth = stack.pop()
        if depth > max_depth or (depth == max_depth and value):
            raise BadJson(_("JSON nested deeper than %(n)s levels.") % {"n": max_depth})
        items = value.values() if type(value) is dict else value
        stack.extend((item, depth + 1) for item in items if type(item) in (dict, list))
    if raw is not None and not (_BAD_ESCAPE if texts else _SURROGATE_ESCAPE).search(raw):
        return
    problem = bad_text_in(data, nul=texts)  # no answer could echo a lone surrogate
    if problem:
        raise BadJson(problem)


class StrictJSONParser(JSONParser):
    checks_texts = True

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise BodyTooLarge()
        try:
            text = raw.decode(encoding)
            data = json.loads(text, parse_float=_finite, parse_constant=_refuse_constant)
        except RecursionError as error:
            raise BadJson(_("JSON nested too deeply.")) from error
        except (ValueError, UnicodeDecodeError) as error:
            raise BadJson(_("JSON parse error: %(error)s") % {"error": str(error)[:200]}) from error
        check_document(data, texts=self.checks_texts, raw=text)
        return data


class BatchJSONParser(StrictJSONParser):
    """For batches answered record by record: a NUL character is that record's rejection
    (:func:`integrations.erp.inbound.screen`), not the whole batch's."""

    checks_texts = False
