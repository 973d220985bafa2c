"""Checks on text that ends up on the leaderboard page: control characters, bidirectional controls, length.

Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) in a name would reorder the page's
own text after it, so they are refused in every user-supplied string and stripped from every rendered one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI_RE = re.compile(f"[{BIDI_CONTROLS}]")


def text_problem(value: object, max_len: int, *, multiline: bool = False, required: bool = True) -> str | None:
    """Why ``value`` is not acceptable text (None if it is).

    Acceptable: a string of 1 to ``max_len`` characters (0 allowed when not ``required``) without control
    characters (newline and tab only when ``multiline``) and without bidirectional controls.
    """
    if not isinstance(value, str):
        return "not text"
    if len(value) > max_len:
        return f"{len(value):,} characters (at most {max_len:,})"
    if required and not value.strip():
        return "empty text"
    for i, char in enumerate(value):
        allowed = multiline and char in "\n\t"
        if char in BIDI_CONTROLS or (unicodedata.category(char) == "Cc" and not allowed):
            return f"control character U+{ord(char):04X} at position {i}"
    return None


def strip_bidi(value: object) -> object:
    """``value`` without bidirectional control characters (other values are returned unchanged)."""
    return _BIDI_RE.sub("", value) if isinstance(value, str) else value


def short_list(names: Sequence[object], limit: int = 8) -> str:
    """Names for a one-line message: the first ``limit`` quoted, then how many more."""
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(repr(str(name)[:80]) for name in names[:limit]) + more
