"""Student-controlled text on its way to a terminal or a spreadsheet.

File names, student names and error messages come from submissions: printed raw, an
ANSI escape or a newline in one can forge lines on the instructor's terminal; written
raw into a CSV, a cell that starts with ``=`` is run as a formula by a spreadsheet.
"""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FORMULA = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and their full-width forms


def printable(text: object) -> str:
    """``text`` with every control character (and bidirectional override) shown as an
    escape, so that it prints as one inert line."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), str(text))


def spreadsheet_safe(value):
    """A CSV cell that a spreadsheet shows as text, as OWASP's guidance on CSV injection
    says: control characters escaped (as ``printable``), then a leading apostrophe if what
    is left starts, after any spaces, with ``= + - @`` (or a full-width one). Numbers are
    left alone."""
    if not isinstance(value, str):
        return value
    text = printable(value)
    return "'" + text if text.lstrip().startswith(_FORMULA) else text
