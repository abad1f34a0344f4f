"""Other people's text printed on a terminal: escapes shown, writing kept."""

import pytest

from server.terminal import printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("title\x1b]0;x\x07", "title\\x1b]0;x\\x07"),
        ("\x9b31m", "\\x9b31m"),
        ("a\u202eb\u2066c", "a\\u202eb\\u2066c"),
        ("one\ntwo\r\u2028", "one\\x0atwo\\x0d\\u2028"),
        ("\U000e0001tag", "\\U000e0001tag"),
    ],
)
def test_control_and_format_characters_are_shown_as_escapes(text, shown):
    assert printable(text) == shown


def test_writing_in_any_script_and_emoji_sequences_stay_as_they_are():
    text = "Zoë, 日本語, العربية, 👩\u200d💻, tab-less"
    assert printable(text) == text
