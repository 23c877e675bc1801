"""tools/rename_theme_to_indicator.py: the lead runs it on other branches' files; it must rename the code's names
for the concept, leave URLs, cache keys and translated message ids alone, and change nothing on a second run."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "rename_theme_to_indicator.py"
spec = importlib.util.spec_from_file_location("rename_theme_to_indicator", SCRIPT)
tool = importlib.util.module_from_spec(spec)
sys.modules["rename_theme_to_indicator"] = tool
spec.loader.exec_module(tool)

OLD = '''"""The theme pages: one theme's indicator page per key."""
import pytest
from dashboard.ui.indicators import THEMES, Theme


def theme_data(ctx, theme_key: str) -> Theme:
    theme = THEMES[theme_key]  # the theme
    url = f"/download/{theme_key}.csv?theme=1"
    key = f"theme:{theme_key}"
    label = _("{theme}: last 7 days (CSV)", theme=theme.title)
    return theme


@pytest.mark.parametrize("theme", ["air", "traffic"])
def test_theme_csv(theme):
    assert theme_data(None, theme)
'''

NEW = '''"""The indicator pages: one indicator's page per key."""
import pytest
from dashboard.ui.indicators import INDICATORS, Indicator


def indicator_data(ctx, indicator_key: str) -> Indicator:
    indicator = INDICATORS[indicator_key]  # the indicator
    url = f"/download/{indicator_key}.csv?theme=1"
    key = f"theme:{indicator_key}"
    label = _("{theme}: last 7 days (CSV)", theme=indicator.title)
    return indicator


@pytest.mark.parametrize("indicator", ["air", "traffic"])
def test_indicator_csv(indicator):
    assert indicator_data(None, indicator)
'''


def test_names_comments_and_docstrings_are_renamed_and_strings_are_not() -> None:
    assert tool.rewrite(OLD) == NEW


def test_a_second_run_changes_nothing() -> None:
    assert tool.rewrite(NEW) == NEW


def test_the_tree_says_indicator() -> None:
    for folder in ("dashboard", "data_sources", "tests", "bench"):
        for f in sorted((ROOT / folder).rglob("*.py")):
            if f.name != Path(__file__).name:
                src = f.read_text(encoding="utf-8")
                assert tool.rewrite(src) == src, f"{f.relative_to(ROOT)} still says theme"
