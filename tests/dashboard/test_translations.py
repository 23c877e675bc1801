"""Every message id in dashboard/ (a string literal passed to ``_()`` or ``N_()``) has a real translation in es,
nl and pt, across all catalogue files of that language. Fails with the list of what is missing, per file."""

import ast
import json
from pathlib import Path

import pytest

from dashboard.i18n import CATALOGUE_DIR, catalogue

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("es", "nl", "pt")


def message_ids() -> dict[str, set[str]]:
    """message id -> files that use it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_messages():
    ids = message_ids()
    assert "What does this mean?" in ids and "Busier than usual" in ids  # a _() call and an N_() table entry


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang):
    cat = catalogue(lang)
    missing = {}
    for msg, files in message_ids().items():
        if not cat.get(msg):
            for f in files:
                missing.setdefault(f, []).append(msg)
    report = "\n".join(f"  {f}:\n" + "\n".join(f"    {m!r}" for m in sorted(ms)) for f, ms in sorted(missing.items()))
    assert not missing, (
        f"{sum(map(len, missing.values()))} message(s) without a {lang} translation "
        f"(add them to dashboard/translations/<area>.{lang}.json):\n{report}"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_translations_keep_placeholders(lang):
    import string

    for path in sorted(CATALOGUE_DIR.glob(f"*{lang}.json")):
        for msg, text in json.loads(path.read_text(encoding="utf-8")).items():
            fields = {f for _, f, _, _ in string.Formatter().parse(msg) if f}
            got = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert got == fields, f"{path.name}: {msg!r} -> {text!r} changes the placeholders"
