"""pip-audit over the CI environment. A known vulnerability fails CI; a vulnerability service that cannot be
reached is reported clearly and does not (CI must not go red because of a network limit, but it must say what
was not audited).

Where pip-audit cannot reach its service (here only the package registry answers: PyPI's per-release JSON and
OSV do not), each package it skipped is looked up in PyPI's project JSON (``/pypi/<name>/json``), which lists
the known vulnerabilities of the latest release: a package installed at its latest release is audited that way;
an older one is reported as not audited."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"


def latest_release_vulns(version: str, project: dict) -> list[dict] | None:
    """The known, not withdrawn, vulnerabilities of ``version`` from PyPI's project JSON ``project``, or None when
    ``version`` is not the latest release (the project JSON speaks only of that one)."""
    from packaging.version import InvalidVersion, Version

    try:
        if Version(version) != Version(project["info"]["version"]):
            return None
    except (InvalidVersion, KeyError, TypeError):
        return None
    return [v for v in project.get("vulnerabilities") or [] if not v.get("withdrawn")]


def audit_skipped(skipped: list[dict], session) -> tuple[list[tuple[str, str, dict]], int, list[str]]:  # noqa: ANN001
    """Look up pip-audit's skipped dependencies in PyPI's project JSON over ``session`` (a requests session):
    (findings as (name, version, vulnerability), how many were audited, what could not be)."""
    found, audited, not_audited = [], 0, []
    for d in skipped:
        name, version = d["name"], d.get("version")
        if not version:
            version = d.get("skip_reason", "").rpartition("(")[2].rstrip(")")
        try:
            r = session.get(PYPI_PROJECT.format(name=name), timeout=20)
            project = r.json() if r.status_code == 200 else None
        except Exception:  # noqa: BLE001  (any network failure: this package is not audited)
            project = None
        vulns = latest_release_vulns(version, project) if project else None
        if vulns is None:
            latest = (project or {}).get("info", {}).get("version")
            not_audited.append(f"{name} {version}" + (f" (latest is {latest})" if latest else " (not found)"))
            continue
        audited += 1
        found += [(name, version, v) for v in vulns]
    return found, audited, not_audited


def main() -> int:
    out = Path(tempfile.mkdtemp()) / "audit.json"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--skip-editable",
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    if not out.exists():
        print(f"pip-audit: did not run (exit {r.returncode}): {r.stderr.strip()[-500:]}")
        return 0
    # Our own package, installed editable, is the code under test, not a dependency from PyPI.
    deps = [d for d in json.loads(out.read_text())["dependencies"] if "editable" not in (d.get("skip_reason") or "")]
    found = [(d["name"], d["version"], v) for d in deps for v in d.get("vulns") or []]
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    not_audited: list[str] = []
    if skipped:
        import requests

        more, n, not_audited = audit_skipped(skipped, requests.Session())
        found += more
        audited += n
        print(
            f"pip-audit: its service was not reachable for {len(skipped)} packages; "
            f"{n} of them are at their latest release and were audited through PyPI's project JSON"
        )
    for name, version, v in found:
        fix = ", ".join(v.get("fix_versions") or v.get("fixed_in") or []) or "no fix released"
        print(f"pip-audit: {name} {version}: {v['id']} (fixed in: {fix})")
    for line in not_audited:
        print(f"pip-audit: NOT AUDITED: {line}")
    print(
        f"pip-audit: {audited} of {len(deps)} packages audited, {len({f[0] for f in found})} with known vulnerabilities"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
