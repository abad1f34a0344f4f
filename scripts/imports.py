"""Fail on an import inside a function in server/ or widgets/ that names our own code: such an import hides a
cycle from import-linter. Third-party imports are not ours to order (some are lazy for start-up time).

Run by `make lint`. An entry of an allow-list that no longer matches fails too, so the lists only shrink."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = ("server", "widgets")

START_UP = {"server/cli.py"}
"""Each command imports what it needs when it runs, so `selfserve --help` and the others start fast."""

KNOWN_CYCLES: set[tuple[str, str]] = set()
"""Cycles still held apart this way, each (module, what it imports inside a function): none left. An entry
here is a debt; the lint fails on one that no longer matches."""


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""] if node.level == 0 else ["."]
    return [alias.name for alias in node.names]


def function_level_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of each first-party import inside a function of ``path``."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for module in _imported(node):
                    if module == "." or module.split(".")[0] in FIRST_PARTY:
                        found.append((node.lineno, module))
    return found


def main() -> int:
    problems, used = [], set()
    for package in FIRST_PARTY:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in START_UP or "/migrations/" in name:
                continue
            for line, module in sorted(set(function_level_imports(path))):
                if (name, module) in KNOWN_CYCLES:
                    used.add((name, module))
                else:
                    problems.append(f"{name}:{line}: imports {module} inside a function (break the cycle)")
    problems += [
        f"{name}: no import of {module} inside a function any more; drop it from KNOWN_CYCLES"
        for name, module in sorted(KNOWN_CYCLES - used)
    ]
    print("\n".join(problems) or "no imports of our own code inside functions (besides the allow-lists)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
