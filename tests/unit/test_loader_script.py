"""Budgets and the published SRI hash of the scripts merchants load (EMBEDDING.md "Size budgets")."""

from __future__ import annotations

import gzip
import io

from server.paths import STATIC_DIR
from server.portal.loader import loader_script

LOADER_BUDGET = 1_800
FRAME_SCRIPT_BUDGET = 6_144


def _gzipped_size(name: str) -> int:
    """As ``gzip -9 -c FILE`` counts it: the file's name is in the header too."""
    packed = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=packed, compresslevel=9, mtime=0) as out:
        out.write((STATIC_DIR / name).read_bytes())
    return len(packed.getvalue())


def test_loader_js_fits_its_gzip_budget():
    assert _gzipped_size("loader.js") <= LOADER_BUDGET


def test_the_frame_script_fits_its_gzip_budget():
    assert _gzipped_size("portal.js") <= FRAME_SCRIPT_BUDGET


def test_the_readme_publishes_the_current_versioned_url_and_sri_hash(repo_root):
    readme = (repo_root / "README.md").read_text()
    script = loader_script()
    assert f'{script.path}" integrity="{script.integrity}"' in readme, (
        "loader.js changed: put its new versioned URL and integrity hash in the README "
        f"(src=...{script.path}, integrity={script.integrity})"
    )
