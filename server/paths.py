"""Where templates and static files are (inside the wheel, ``server/_data``, or at the repo root), and the URL
prefix of download links, which the access log redacts without importing the portal."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    bundled = _PACKAGE / "_data" / name
    return bundled if bundled.is_dir() else _PACKAGE.parent / name


TEMPLATES_DIR = _data_dir("templates")
STATIC_DIR = _data_dir("static")
DOCUMENTS_PREFIX = "/embed/documents/"
