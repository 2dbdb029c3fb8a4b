"""List functions longer than 60 lines and imports written inside functions (issue 11).

    python tools/code_shape.py [--long] [--imports] [paths...]   (default: src/orderdesk)

Lengths count from the `def` line to the last line of the body (docstring included). An import
inside a function is "explained" when its line or the line above has a comment (the cycle it
breaks); TYPE_CHECKING blocks are module level and are not counted. Released migration revisions
(migrations/versions/) are never edited, so they are skipped.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

LIMIT = 60
Func = ast.FunctionDef | ast.AsyncFunctionDef


def functions(tree: ast.AST) -> Iterator[Func]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def long_functions(path: Path, tree: ast.AST) -> Iterator[tuple[int, str]]:
    for fn in functions(tree):
        length = (fn.end_lineno or fn.lineno) - fn.lineno + 1
        if length > LIMIT:
            yield length, f"{path}:{fn.lineno} {fn.name}"


def inner_imports(path: Path, tree: ast.AST, lines: list[str]) -> Iterator[tuple[bool, str]]:
    seen: set[int] = set()
    for fn in functions(tree):
        for node in ast.walk(fn):
            if isinstance(node, ast.Import | ast.ImportFrom) and node.lineno not in seen:
                seen.add(node.lineno)
                here = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
                above = lines[node.lineno - 2] if node.lineno > 1 else ""
                said = any("#" in line for line in here) or above.strip().startswith("#")
                yield said, f"{path}:{node.lineno} {lines[node.lineno - 1].strip()}"


def main(argv: list[str]) -> int:
    flags = {a for a in argv if a.startswith("--")}
    roots = [Path(a) for a in argv if not a.startswith("--")] or [Path("src/orderdesk")]
    show_long, show_imports = "--long" in flags or not flags, "--imports" in flags or not flags
    longs: list[tuple[int, str]] = []
    imports: list[tuple[bool, str]] = []
    for root in roots:
        for path in sorted(root.rglob("*.py") if root.is_dir() else [root]):
            if "migrations/versions" in path.as_posix():
                continue
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text, filename=str(path))
            longs += long_functions(path, tree)
            imports += inner_imports(path, tree, text.splitlines())
    if show_long:
        for length, where in sorted(longs, reverse=True):
            print(f"{length:4d}  {where}")
        print(f"{len(longs)} functions over {LIMIT} lines")
    if show_imports:
        for said, where in imports:
            print(f"{'ok ' if said else '   '} {where}")
        unexplained = sum(1 for said, _ in imports if not said)
        print(f"{len(imports)} imports inside functions, {unexplained} without a comment")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
