"""One name per concept (issue 16): "theme" and "indicator" meant the same thing in the code; it is "indicator" now.

Run from the repository root: ``python tools/rename_theme_to_indicator.py [paths...]`` (default: the code, tests,
bench and tools). It rewrites Python names (``Theme``, ``THEMES``, ``theme_key``, ``theme_data``, ...), the names
inside f-string fields, and the word in comments and docstrings. Other strings are left alone, so URLs, cache
keys and message ids do not change (pytest's parametrize argument names do); nor does a keyword argument that fills a ``{theme}`` placeholder of a
translated message (the catalogues in dashboard/translations/ keep their ids). A second run changes nothing, so
the lead can run it on other branches' files after merging.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

NAMES = {
    "Theme": "Indicator",
    "THEMES": "INDICATORS",
    "theme": "indicator",
    "themes": "indicators",
    "theme_key": "indicator_key",
    "theme_data": "indicator_data",
    "theme_download": "indicator_download",
}
# Test names that start with test_theme_ (the concept, not a word inside another name).
PREFIXES = {"test_theme_": "test_indicator_"}
PROSE = [
    (re.compile(r"\btheme's indicator page"), "indicator's page"),
    (re.compile(r"\bthemes\b"), "indicators"),
    (re.compile(r"\bThemes\b"), "Indicators"),
    (re.compile(r"\btheme\b"), "indicator"),
    (re.compile(r"\bTheme\b"), "Indicator"),
]
FIELD = re.compile(r"\{([^{}]*)\}")
IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
PARAM_NAMES = re.compile(r"([\"'])[A-Za-z_][A-Za-z0-9_]*(\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*\1")
FILES = {"tests/dashboard/pages/test_theme_pages.py": "tests/dashboard/pages/test_indicator_pages.py"}
DEFAULT = ["dashboard", "data_sources", "tests", "bench", "tools", "app.py"]


def new_name(name: str) -> str:
    if name in NAMES:
        return NAMES[name]
    for old, new in PREFIXES.items():
        if name.startswith(old):
            return new + name[len(old) :]
    return name


def prose(text: str) -> str:
    for pattern, new in PROSE:
        text = pattern.sub(new, text)
    return text


def _fstring(token: str) -> str:
    """Rename the names inside an f-string's replacement fields (Python 3.11 keeps an f-string one token)."""
    return FIELD.sub(lambda m: "{" + IDENT.sub(lambda n: new_name(n.group(0)), m.group(1)) + "}", token)


def _is_docstring(prev: tokenize.TokenInfo | None) -> bool:
    return prev is None or prev.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)


def rewrite(source: str) -> str:
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    out: list[tokenize.TokenInfo] = []
    prev: tokenize.TokenInfo | None = None
    for i, tok in enumerate(tokens):
        text = tok.string
        if tok.type == tokenize.NAME:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            fills_placeholder = nxt is not None and nxt.string == "=" and "{" + text + "}" in tok.line
            if not fills_placeholder:
                text = new_name(text)
        elif tok.type == tokenize.COMMENT:
            text = prose(text)
        elif tok.type == tokenize.STRING:
            prefix = text[: len(text) - len(text.lstrip("rRbBuUfF"))].lower()
            if _is_docstring(prev) and text[len(prefix) :].startswith(('"""', "'''")):
                text = prose(text)
            elif "f" in prefix:
                text = _fstring(text)
            elif "parametrize(" in tok.line and PARAM_NAMES.fullmatch(text):  # pytest's argument names
                text = IDENT.sub(lambda n: new_name(n.group(0)), text)
        out.append(tok._replace(string=text))
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            prev = tok
    return _untokenize(source, tokens, out)


def _untokenize(source: str, old: list[tokenize.TokenInfo], new: list[tokenize.TokenInfo]) -> str:
    """Replace each changed token in place, so that everything else stays byte for byte."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    edits = [
        (starts[a.start[0] - 1] + a.start[1], starts[a.end[0] - 1] + a.end[1], b.string)
        for a, b in zip(old, new)
        if a.string != b.string
    ]
    for begin, end, text in reversed(edits):
        source = source[:begin] + text + source[end:]
    return source


def main(paths: list[str]) -> int:
    root = Path.cwd()
    for old, new in FILES.items():
        if (root / old).exists() and not (root / new).exists():
            (root / old).rename(root / new)
            print(f"moved {old} -> {new}")
    changed = 0
    for p in paths or DEFAULT:
        target = root / p
        files = [target] if target.is_file() else sorted(target.rglob("*.py"))
        for f in files:
            if f.resolve() == Path(__file__).resolve():
                continue
            src = f.read_text(encoding="utf-8")
            out = rewrite(src)
            if out != src:
                f.write_text(out, encoding="utf-8")
                changed += 1
                print(f"rewrote {f.relative_to(root)}")
    print(f"{changed} files changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
