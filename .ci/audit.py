"""pip-audit over the CI environment. A known vulnerability fails CI; a vulnerability service that cannot be
reached is reported clearly and does not (CI must not go red because of a network limit, but it must say that
nothing was audited)."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

out = Path(tempfile.mkdtemp()) / "audit.json"
r = subprocess.run([sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off",
                    "--format", "json", "--output", str(out)], capture_output=True, text=True)
if not out.exists():
    print(f"pip-audit: did not run (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    sys.exit(0)
deps = json.loads(out.read_text())["dependencies"]
found = [d for d in deps if d.get("vulns")]
skipped = [d for d in deps if d.get("skip_reason")]
for d in found:
    for v in d["vulns"]:
        fix = ", ".join(v.get("fix_versions") or []) or "no fix released"
        print(f"pip-audit: {d['name']} {d['version']}: {v['id']} (fixed in: {fix})")
audited = len(deps) - len(skipped)
print(f"pip-audit: {audited} of {len(deps)} packages audited, {len(found)} with known vulnerabilities")
if skipped and not audited:
    print("pip-audit: the vulnerability service could not be reached from this machine; NOTHING WAS AUDITED")
sys.exit(1 if found else 0)
