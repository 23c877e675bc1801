"""Every string the feedback pages show has a real es, nl and pt translation with the same placeholders."""

import ast
import re
import string
from pathlib import Path

import pytest

from dashboard.ui import comments as feedback
from dashboard.i18n import catalogue

ROOT = Path(__file__).resolve().parents[3]
FILES = [
    "dashboard/ui/comments.py",
    "dashboard/http/feeds.py",
    "dashboard/pages/report.py",
    "dashboard/pages/comment.py",
    "dashboard/pages/track.py",
    "dashboard/pages/said_did.py",
    "dashboard/pages/ledger.py",
]


def message_ids() -> set[str]:
    ids: set[str] = set()
    for f in FILES:
        for n in ast.walk(ast.parse((ROOT / f).read_text())):
            if (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id == "_"
                and n.args
                and isinstance(n.args[0], ast.Constant)
                and isinstance(n.args[0].value, str)
            ):
                ids.add(n.args[0].value)
    for labels in (
        feedback.STATUS_LABELS,
        feedback.CLOSED_REASONS,
        feedback.CATEGORY_LABELS,
        feedback.METRIC_LABELS,
        feedback.PLACE_WORDS,
        feedback.FLAG_REASON_LABELS,
    ):
        ids.update(labels.values())
    # Rejection messages come from data_sources.comments.records and are translated where they are shown.
    ids.update(
        re.findall(r'CommentRejected\("\w+", "([^"]+)"', (ROOT / "data_sources/comments/records.py").read_text())
    )
    return ids


def fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f}


@pytest.mark.parametrize("lang", ["es", "nl", "pt"])
def test_feedback_strings_are_translated(lang):
    cat = catalogue(lang)
    ids = message_ids()
    assert len(ids) > 100
    missing = sorted(i for i in ids if i not in cat)
    assert not missing, f"{lang}: untranslated {missing[:5]}"
    for i in ids:
        assert fields(cat[i]) == fields(i), (lang, i)
    # Real translations, not copies of the English (short words such as "Spam" may coincide).
    same = [i for i in ids if cat[i] == i and len(i) > 12]
    assert not same, same
