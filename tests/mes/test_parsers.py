"""The JSON parser's document check: its shortcuts (containers only, the raw text searched for
escapes first) refuse exactly what a plain walk of every value refuses."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mes.api.parsers import BadJson, check_document
from mes.texts import bad_text_in


def plain_walk(data, max_depth, texts):
    """Every value with its depth, then every string: the check as first written."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return "deep"
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return "text" if bad_text_in(data, nul=texts) else None


def shortcut(raw, max_depth, texts):
    data = json.loads(raw)
    try:
        check_document(data, max_depth=max_depth, texts=texts, raw=raw)
    except BadJson as exc:
        return "deep" if "nested" in str(exc) else "text"
    return None


strings = st.text(alphabet=st.sampled_from(["a", "\x00", "\ud800", "\udfff", "é", "\\", "u"]))
documents = st.recursive(
    st.one_of(st.none(), st.integers(), strings),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(strings, inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(documents, st.integers(1, 5), st.booleans(), st.booleans())
def test_the_check_refuses_what_a_plain_walk_refuses(document, max_depth, texts, ascii_only):
    raw = json.dumps(document, ensure_ascii=ascii_only)
    if not ascii_only:
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            return  # a body with a raw lone surrogate never decodes from bytes
    assert shortcut(raw, max_depth, texts) == plain_walk(json.loads(raw), max_depth, texts)


@pytest.mark.parametrize(
    "raw, texts, expected",
    [
        ('{"a": "\\uD83D"}', False, "text"),  # upper-case escape of a lone surrogate
        ('{"a": "\\ud83d\\ude00"}', False, None),  # a pair is a character
        ('{"a": "\\u0000"}', True, "text"),
        ('{"a": "\\u0000"}', False, None),  # the batch parser leaves NUL to each record
        ('{"a": "\\\\ud800"}', False, None),  # an escaped backslash, then text
        ("[[[1]]]", True, None),
        ("[[[[1]]]]", True, "deep"),
        ("[[[[]]]]", True, None),
    ],
)
def test_escapes_and_depth(raw, texts, expected):
    assert shortcut(raw, 4, texts) == expected
