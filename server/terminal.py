"""Text written by other people, made safe to print on a terminal.

A cancellation comment or a merchant name could carry escape sequences (clear the screen, set the window
title, write to the clipboard) or bidirectional overrides that reorder what the reader sees. Every place the
CLI prints such text passes it through :func:`printable`.
"""

from __future__ import annotations

import unicodedata

_KEPT = {"\u200c", "\u200d"}
"""Zero-width (non-)joiners are format characters that emoji and several scripts need."""
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _visible(character: str) -> str:
    if character in _KEPT or unicodedata.category(character) not in _UNSAFE_CATEGORIES:
        return character
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every control, format and line-separator character shown as an escape like ``\\x1b``."""
    if text.isprintable():
        return text
    return "".join(_visible(character) for character in text)
