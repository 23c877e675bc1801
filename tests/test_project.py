"""Promises the project makes to its contributors: the settings are documented, the layers stay apart."""

import os
import re
import shutil
import subprocess
import sys
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
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert "python app.py" in block[0] and "python -m pytest" in block[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci  # CI runs README's command, not its own copy


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(exe), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(cwd)},
    )


def test_the_layers_keep_their_import_contracts():
    """pyproject's import-linter contracts (data_sources never imports dashboard nor Dash/Flask, the pages and
    UI run no SQL, each folder imports only the layers below it) hold for the code as it is."""
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 kept, 0 broken" in r.stdout


def test_an_import_against_the_layers_fails_the_contracts(tmp_path):
    for name in ("dashboard", "data_sources"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "data_sources" / "ingest" / "probe.py").write_text("from dashboard.ui import figures\n")
    r = _lint_imports(tmp_path)
    assert r.returncode != 0
    assert "data_sources.ingest.probe -> dashboard.ui.figures" in r.stdout


def _audit_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _PyPI:
    """PyPI's project JSON for the fixtures' projects, 404 for any other; records what was asked."""

    def __init__(self, projects: dict[str, str]):
        self.projects, self.asked = projects, []

    def get(self, url: str, timeout: float):  # noqa: ANN201
        import json

        self.asked.append(url)
        name = url.split("/pypi/")[1].split("/")[0]

        class R:
            status_code = 200 if name in self.projects else 404

            def json(_self):  # noqa: N805, ANN202
                return json.loads((ROOT / "tests" / "fixtures" / "pypi" / self.projects[name]).read_text())

        return R()


def test_ci_audit_without_its_service_still_audits_what_is_at_its_latest_release_and_names_the_rest():
    """CI's pip-audit cannot reach its vulnerability service here; a vulnerable dependency must still fail CI
    whenever PyPI's project JSON can vouch for it, and what cannot be audited is named, never passed silently."""
    audit = _audit_module()
    pypi = _PyPI({"six": "six.json", "django": "django_3.0.2_documented.json"})
    skipped = [
        {"name": "six", "skip_reason": "Dependency not found on PyPI and could not be audited: six (1.17.0)"},
        {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited: django (3.0.2)"},
        {"name": "numpy", "skip_reason": "Dependency not found on PyPI and could not be audited: numpy (2.4.6)"},
    ]
    found, audited, not_audited = audit.audit_skipped(skipped, pypi)
    assert audited == 2
    assert [(name, version, v["id"]) for name, version, v in found] == [
        ("django", "3.0.2", "PYSEC-2021-9")
    ]  # not the withdrawn one
    assert not_audited == ["numpy 2.4.6 (not found)"]
    assert pypi.asked[0] == "https://pypi.org/pypi/six/json"
    # An older release than the one PyPI's project JSON describes is not vouched for.
    older = [{"name": "six", "skip_reason": "Dependency not found on PyPI and could not be audited: six (1.16.0)"}]
    assert audit.audit_skipped(older, pypi) == ([], 0, ["six 1.16.0 (latest is 1.17.0)"])
