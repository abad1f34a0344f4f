"""The layering contracts of ``make lint`` (``[tool.importlinter]`` in pyproject.toml) can fail: on a copy of
the code, an import that closes a cycle between two domain packages, or that reaches up from a domain package
into the portal, breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for package in ("server", "widgets"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "locales")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _add_import(module: Path, line: str) -> None:
    text = module.read_text()
    head, _, rest = text.partition("from __future__ import annotations\n")
    module.write_text(f"{head}from __future__ import annotations\n{line}\n{rest}")


def test_the_copy_keeps_every_contract(copy: Path) -> None:
    result = _lint(copy)
    assert result.returncode == 0, result.stdout


def test_a_cycle_between_domain_packages_breaks_the_lint(copy: Path) -> None:
    # usage reads customers; customers reading usage closes a cycle
    _add_import(copy / "server/customers/service.py", "from server.usage import usage_report  # noqa")
    result = _lint(copy)
    assert result.returncode == 1
    assert "No import cycles among the packages of server" in result.stdout
    assert "BROKEN" in result.stdout


def test_a_domain_package_importing_the_portal_breaks_the_lint(copy: Path) -> None:
    _add_import(copy / "server/billing/orders.py", "from server.portal import documents  # noqa")
    result = _lint(copy)
    assert result.returncode == 1
    assert "server.billing.orders -> server.portal.documents" in result.stdout
