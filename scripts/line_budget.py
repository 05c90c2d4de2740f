"""Where aelib's lines go: each module's lines by kind, for issue 22's size goal.

Every line of ``aelib/*.py`` is counted once, as the first of these it is:
blank; a public docstring (the module's, or a function's or class's whose name
has no leading underscore); a private docstring; a comment; an input check (a
``raise``, an ``if`` whose body only raises, or a ``check_*`` / ``_check_*``
function); else code. The total is what ``find aelib -name '*.py' | xargs wc -l``
counts.

    python scripts/line_budget.py
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aelib"
KINDS = ("public docstring", "private docstring", "comment", "blank", "input check", "code")


def _lines(node: ast.AST) -> set[int]:
    return set(range(node.lineno, node.end_lineno + 1))


def _docstring_lines(tree: ast.Module) -> tuple[set[int], set[int]]:
    """The lines of public and of private docstrings."""
    public, private = set(), set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first = node.body[0] if node.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str):
            is_public = isinstance(node, ast.Module) or not node.name.startswith("_")
            (public if is_public else private).update(_lines(first))
    return public, private


def _check_lines(tree: ast.Module) -> set[int]:
    checks = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            checks |= _lines(node)
        elif isinstance(node, ast.If) and all(isinstance(s, ast.Raise) for s in node.body):
            checks |= _lines(node)
        elif isinstance(node, ast.FunctionDef) and node.name.startswith(("check_", "_check_")):
            checks |= _lines(node)
    return checks


def budget(path: Path) -> Counter:
    """``path``'s lines counted by kind."""
    source = path.read_text()
    tree = ast.parse(source)
    public, private = _docstring_lines(tree)
    checks = _check_lines(tree)
    counts = Counter()
    for number, line in enumerate(source.splitlines(), 1):
        text = line.strip()
        kind = ("blank" if not text else "public docstring" if number in public
                else "private docstring" if number in private
                else "comment" if text.startswith("#") else "input check" if number in checks
                else "code")
        counts[kind] += 1
    return counts


def main() -> None:
    rows = {path.name: budget(path) for path in sorted(PACKAGE.glob("*.py"))}
    total = sum(rows.values(), Counter())
    print("| module | " + " | ".join(KINDS) + " | lines |")
    print("|---|" + "---|" * (len(KINDS) + 1))
    for name, counts in sorted(rows.items(), key=lambda item: -item[1].total()):
        print(f"| {name} | " + " | ".join(f"{counts[k]:,}" for k in KINDS)
              + f" | {counts.total():,} |")
    print("| **all** | " + " | ".join(f"**{total[k]:,}**" for k in KINDS)
          + f" | **{total.total():,}** |")


if __name__ == "__main__":
    main()
