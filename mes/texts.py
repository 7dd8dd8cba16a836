"""What text can be stored: no NUL characters (PostgreSQL refuses them) and valid Unicode (no
lone surrogates). Used by the API's JSON parser and by the ERP batches, record by record."""

from __future__ import annotations

from django.utils.translation import gettext as _


def check_text(text: str, nul: bool = True) -> str | None:
    """Why ``text`` cannot be stored (``nul`` False: NUL characters aside), or None."""
    if nul and "\x00" in text:
        return _("NUL characters are not allowed.")
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _("Text must be valid Unicode (no lone surrogates).")
    return None


def bad_text_in(document, nul: bool = True) -> str | None:
    """The first reason a string (or key) anywhere in ``document`` cannot be stored, or None
    (``nul`` False: NUL characters aside). Walks without recursion."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            problem = check_text(value, nul)
            if problem:
                return problem
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = check_text(key, nul) if isinstance(key, str) else None
                if problem:
                    return problem
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return None


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value) -> str:
    """``value`` as a CSV cell a spreadsheet shows as text: one that would start a formula
    (``=HYPERLINK(...)`` in a token's name, say) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
