"""Extract the portal's translatable messages and merge them into each catalog.

    python scripts/messages.py          # update server/locales/*/LC_MESSAGES/messages.po (keeps translations)
    python scripts/messages.py --check  # exit 1 naming each message a catalog lacks, leaves blank or fuzzy

New messages arrive untranslated; the test suite fails until every catalog translates every message.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (
    ("templates", [("**.html", "jinja2.ext:babel_extract"), ("**.jinja", "jinja2.ext:babel_extract")]),
    ("widgets", [("**.py", "python")]),
    ("server", [("db/migrations/**", "ignore"), ("**.py", "python")]),
)
CREATED = datetime(2026, 11, 1, tzinfo=UTC)
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    """Every message id used by templates (pages and emails), portal code and services, plus the view
    titles (translated dynamically)."""
    sys.path.insert(0, str(ROOT))
    from widgets import REGISTRY

    catalog = Catalog(project="selfserve")
    for folder, method_map in SOURCES:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT / folder), method_map, keywords=KEYWORDS
        ):
            catalog.add(message, None, [(f"{folder}/{filename}", lineno)])
    for view in REGISTRY:
        catalog.add(view.title, None, [("widgets/__init__.py", 0)])
    return catalog


def update(locale: str, template: Catalog) -> Path:
    path = ROOT / "server" / "locales" / locale / "LC_MESSAGES" / "messages.po"
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        catalog.update(template, no_fuzzy_matching=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=locale, project="selfserve")
        catalog.update(template, no_fuzzy_matching=True)
    catalog.fuzzy = False
    catalog.creation_date = CREATED  # a header that does not change, so branches that add messages merge
    catalog.version = "1"
    catalog.last_translator = catalog.language_team = "selfserve"
    with path.open("wb") as handle:
        write_po(
            handle,
            catalog,
            sort_output=True,
            omit_header=False,
            ignore_obsolete=True,
            width=110,
            no_location=True,  # line numbers would change with every edit of a template
        )
    return path


def problems(locale: str, template: Catalog) -> list[str]:
    """What ``locale``'s catalog lacks: messages missing, untranslated (any plural form) or fuzzy."""
    with (ROOT / "server" / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    found = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        strings = () if translated is None else translated.string
        strings = strings if isinstance(strings, tuple) else (strings,)
        if translated is None or not all(strings) or translated.fuzzy:
            found.append(f"{locale}: not translated: {message.id!r}")
    return found


if __name__ == "__main__":
    messages = extract()
    locales = sorted(folder.name for folder in (ROOT / "server" / "locales").iterdir())
    if sys.argv[1:] == ["--check"]:
        missing = [problem for locale in locales for problem in problems(locale, messages)]
        print("\n".join(missing) or f"every message translated in {', '.join(locales)}")
        sys.exit(1 if missing else 0)
    for locale in locales:
        print(update(locale, messages))
