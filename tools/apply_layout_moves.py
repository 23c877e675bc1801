"""Rewrite imports and dotted names in the given files after the folder layout change (issue 16).

Usage: ``python tools/apply_layout_moves.py [--map tools/layout_moves.tsv] [--check] FILE...``

The map has one line per moved module (or moved name): ``old.dotted.path<TAB>new.dotted.path``. In every file:

* ``import`` and ``from ... import`` statements are rewritten (``from data_sources import comments`` becomes
  ``from data_sources.comments import records as comments``; a statement whose names now live in different
  modules is split in several);
* any other dotted name (in strings such as ``monkeypatch.setattr("dashboard.api.x", ...)``, comments,
  docstrings, Markdown) and any ``package/module.py`` or ``package/folder/`` path is rewritten too.

A name is resolved by its longest prefix that is an old or a new module: when that prefix is an old one, it is
replaced; when it is a new one, the name is left alone. So running the script twice changes nothing.
``--check`` prints the files that would change and exits 1 if any would.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAP = Path(__file__).resolve().parent / "layout_moves.tsv"
ROOTS = ("dashboard", "data_sources", "tests")
_DOTTED = re.compile(r"(?<![\w.])(?:%s)(?:\.\w+)+" % "|".join(ROOTS))
_PATH = re.compile(r"(?<![\w./])((?:%s)(?:/\w+)+)(\.py\b|/)" % "|".join(ROOTS))


@dataclass(frozen=True)
class Moves:
    old: dict[str, str]  # old dotted path -> new dotted path
    new: frozenset[str]  # every new module and package

    @classmethod
    def load(cls, path: Path) -> Moves:
        old: dict[str, str] = {}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 2 or not all(parts):
                raise SystemExit(f"{path}:{n}: expected 'old<TAB>new', got {line!r}")
            old[parts[0].strip()] = parts[1].strip()
        new: set[str] = set()
        for target in old.values():
            bits = target.split(".")
            new.update(".".join(bits[:i]) for i in range(1, len(bits) + 1))
        return cls(old, frozenset(new))

    def resolve(self, dotted: str) -> str:
        """The new spelling of a dotted name (unchanged when it is not an old module or name)."""
        bits = dotted.split(".")
        for i in range(len(bits), 0, -1):
            prefix = ".".join(bits[:i])
            if prefix in self.old:
                return ".".join([self.old[prefix], *bits[i:]])
            if prefix in self.new:
                return dotted
        return dotted

    def known(self, dotted: str) -> str | None:
        """ "old" or "new" when the full dotted name is itself an old or a new module (or moved name)."""
        if dotted in self.old:
            return "old"
        return "new" if dotted in self.new else None


def _alias(name: str, asname: str | None) -> str:
    return f"{name} as {asname}" if asname and asname != name else name


def _from_statement(module: str, names: list[str], indent: str) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(indent) + len(line) <= 120:
        return line
    body = "".join(f"{indent}    {n},\n" for n in names)
    return f"from {module} import (\n{body}{indent})"


def _rewrite_import(node: ast.Import | ast.ImportFrom, moves: Moves, indent: str) -> str | None:
    if isinstance(node, ast.Import):
        names = []
        for a in node.names:
            target = moves.resolve(a.name)
            if target != a.name and not a.asname:
                # ``import a.b`` binds ``a`` and code spells ``a.b.x``: keep that spelling working.
                names.append(f"{target}")
            else:
                names.append(_alias(target, a.asname))
        changed = [moves.resolve(a.name) for a in node.names] != [a.name for a in node.names]
        return f"import {', '.join(names)}" if changed else None
    if node.level or not node.module:
        return None
    groups: dict[str, list[str]] = {}
    changed = False
    for a in node.names:
        full = f"{node.module}.{a.name}"
        kind = moves.known(full) if a.name != "*" else None
        if kind == "new":  # already the new spelling, e.g. ``from data_sources.comments import analysis``
            groups.setdefault(node.module, []).append(_alias(a.name, a.asname))
        elif kind == "old":
            target = moves.resolve(full)
            parent, _, last = target.rpartition(".")
            groups.setdefault(parent, []).append(_alias(last, a.asname or a.name))
            changed = True
        else:
            module = moves.resolve(node.module)
            changed |= module != node.module
            groups.setdefault(module, []).append(_alias(a.name, a.asname))
    if not changed:
        return None
    return f"\n{indent}".join(_from_statement(m, ns, indent) for m, ns in groups.items())


def _rewrite_text(text: str, moves: Moves) -> str:
    text = _DOTTED.sub(lambda m: moves.resolve(m.group(0)), text)

    def path(m: re.Match[str]) -> str:
        dotted = m.group(1).replace("/", ".")
        target = moves.resolve(dotted)
        return m.group(0) if target == dotted else target.replace(".", "/") + m.group(2)

    return _PATH.sub(path, text)


def rewrite_python(source: str, moves: Moves) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _rewrite_text(source, moves)
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    spans: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or node.end_lineno is None:
            continue
        begin = starts[node.lineno - 1] + node.col_offset  # ast offsets are in UTF-8 bytes; imports lines are ASCII
        end = starts[node.end_lineno - 1] + (node.end_col_offset or 0)
        indent = re.match(r"[ \t]*", lines[node.lineno - 1]).group(0)  # type: ignore[union-attr]
        replacement = _rewrite_import(node, moves, indent)
        spans.append((begin, end, source[begin:end] if replacement is None else replacement))
    out: list[str] = []
    at = 0
    for begin, end, replacement in sorted(spans):
        out.append(_rewrite_text(source[at:begin], moves))
        out.append(replacement)
        at = end
    out.append(_rewrite_text(source[at:], moves))
    return "".join(out)


def rewrite(path: Path, moves: Moves) -> str:
    text = path.read_text(encoding="utf-8")
    return rewrite_python(text, moves) if path.suffix == ".py" else _rewrite_text(text, moves)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--map", type=Path, default=DEFAULT_MAP, help="the move map (default: %(default)s)")
    ap.add_argument("--check", action="store_true", help="only list the files that would change; exit 1 if any")
    ap.add_argument("files", nargs="+", type=Path)
    args = ap.parse_args(argv)
    moves = Moves.load(args.map)
    changed = 0
    for path in args.files:
        if path.resolve() == args.map.resolve() or not path.is_file():
            continue
        before = path.read_text(encoding="utf-8")
        after = rewrite(path, moves)
        if after != before:
            changed += 1
            print(path)
            if not args.check:
                path.write_text(after, encoding="utf-8")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
