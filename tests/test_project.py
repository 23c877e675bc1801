"""Promises the project makes to its contributors: the settings are documented, the layers stay apart."""
import ast
import re
from pathlib import Path

from data_sources.config import env_table

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_readme_with_its_default():
    readme = (ROOT / "README.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([A-Z_]+)` \| ([^|]+) \|", readme, re.M)}
    for var, default, description in env_table():
        assert var in rows, f"README's Settings table lacks {var}"
        shown = rows[var].strip().strip("`")
        assert shown == (default or "(empty)"), f"README shows {var} default {shown!r}, code has {default!r}"


def test_readme_opens_with_run_and_test_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1: lines.index("```sh") + 3]
    assert "python app.py" in block[0] and "python -m pytest" in block[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci  # CI runs README's command, not its own copy


def test_data_sources_never_imports_dash():
    for path in (ROOT / "data_sources").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "dash" or n.startswith(("dash.", "dashboard")) for n in names), f"{path} imports {names}"
