"""tools/apply_layout_moves.py: the lead runs it on other branches' files after the folder layout change (issue 16);
it must rewrite every spelling of a moved module, leave new spellings alone, and change nothing on a second run."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "apply_layout_moves.py"


def _tool():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("apply_layout_moves", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["apply_layout_moves"] = mod
    spec.loader.exec_module(mod)
    return mod


tool = _tool()
MOVES = tool.Moves.load(tool.DEFAULT_MAP)

OLD = '''"""Uses dashboard/queries.py and data_sources.store (see data_sources/migrations/ for the schema)."""
import data_sources.store
from dashboard.api import ApiError, json_response
from dashboard import figures, i18n
from data_sources import analysis, comments as cm
from data_sources.base import SourceError, get_connector
from data_sources.models import Comment
from data_sources.store import utcnow


def f(monkeypatch):
    from dashboard.app import create_app, get_context
    monkeypatch.setattr("dashboard.feedback.allow", lambda *a: True)
    return data_sources.store.utcnow()
'''

NEW = '''"""Uses data_sources/store/queries.py and data_sources.store.db (see data_sources/store/migrations/ for the schema)."""
import data_sources.store.db
from dashboard.http.api import ApiError
from dashboard.http.responses import json_response
from dashboard.ui import figures
from dashboard import i18n
from data_sources.comments import analysis, records as cm
from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector
from data_sources.store.models import Comment
from data_sources.store.db import utcnow


def f(monkeypatch):
    from dashboard.app import create_app
    from dashboard.context import get_context
    monkeypatch.setattr("dashboard.ui.comments.allow", lambda *a: True)
    return data_sources.store.db.utcnow()
'''


def test_old_spellings_become_new_ones():
    assert tool.rewrite_python(OLD, MOVES) == NEW


def test_a_second_run_changes_nothing():
    assert tool.rewrite_python(NEW, MOVES) == NEW


@pytest.mark.parametrize(
    "line",
    [
        "from data_sources.comments import analysis\n",  # new package, new module
        "from data_sources.store import queries\n",
        "from data_sources.comments.records import submit_comment\n",
        "from dashboard.pages import home\n",  # not moved
        "x = 'data_sources.store.models.Comment'\n",
    ],
)
def test_new_or_unmoved_spellings_are_left_alone(line):
    assert tool.rewrite_python(line, MOVES) == line


def test_every_new_module_in_the_map_exists():
    for new in MOVES.old.values():
        path = ROOT / Path(*new.split("."))
        module = path.with_suffix(".py").is_file() or (path / "__init__.py").is_file() or path.is_dir()
        parent = path.parent.with_suffix(".py").is_file() or (path.parent / "__init__.py").is_file()
        assert module or parent, f"{new} is in tools/layout_moves.tsv but not in the tree"


def test_the_tree_uses_no_old_spelling():
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    # This file holds old spellings on purpose (OLD above).
    paths = [
        ROOT / p
        for p in files.split()
        if not p.startswith("tools/") and p != "tests/test_layout_moves.py" and (ROOT / p).is_file()
    ]
    r = subprocess.run([sys.executable, str(SCRIPT), "--check", *map(str, paths)], capture_output=True, text=True)
    assert r.returncode == 0, f"old module spellings in: {r.stdout}"


def test_the_command_rewrites_files_in_place(tmp_path):
    f = tmp_path / "new_feature.py"
    f.write_text(OLD)
    r = subprocess.run([sys.executable, str(SCRIPT), str(f)], capture_output=True, text=True)
    assert r.returncode == 0 and f.read_text() == NEW and str(f) in r.stdout
    assert subprocess.run([sys.executable, str(SCRIPT), "--check", str(f)]).returncode == 0
