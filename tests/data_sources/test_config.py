"""A wrong key or value in a city TOML stops start-up with one line naming the file, the key and what was expected."""

import subprocess
import sys
from pathlib import Path

import pytest

from data_sources.config import ConfigError, Settings, load_city

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
[city]
name = "Testville"
slug = "testville"
centre = [55.86, -4.25]
languages = ["en", "es"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "city.toml"
    p.write_text(text)
    return p


def test_demo_and_minimal_city_load(tmp_path):
    demo = load_city(ROOT / "cities" / "demo.toml")
    assert demo.city.demo and demo.districts is not None and demo.basemap.style == "none"
    c = load_city(_write(tmp_path, GOOD))
    assert c.city.name == "Testville" and c.city.default_language == "en"


@pytest.mark.parametrize(
    "text, key, expected",
    [
        (GOOD.replace("centre = [55.86, -4.25]", "centre = [155.0, -4.25]"), "city.centre", "-90 <= lat <= 90"),
        (GOOD.replace("centre = [55.86, -4.25]", 'centre = "Glasgow"'), "city.centre", "valid"),
        (GOOD.replace('name = "Testville"', 'nmae = "Testville"'), "city.nmae", "unknown key"),
        (GOOD + '\n[basemap]\nstyle = "satellite"\n', "basemap.style", "'none' or 'tiles'"),
        (GOOD + '\n[basemap]\nstyle = "tiles"\n', "basemap", "tiles_url"),
        (
            GOOD.replace('languages = ["en", "es"]', 'languages = ["en", "fr"]'),
            "city.languages.1",
            "'en', 'es', 'nl' or 'pt'",
        ),
        (GOOD + '\n[[sources]]\nname = "Air!"\nkind = "csv"\n', "sources.0.name", "pattern"),
        (GOOD + '\n[[sources]]\nname = "air"\nkind = "no_such_kind"\n', "sources.0.kind", "expected one of"),
        (GOOD.replace('slug = "testville"\n', ""), "city.slug", "required"),
        (GOOD + '\n[districts]\nfile = "missing.geojson"\n', "districts.file", "not found"),
        (GOOD + 'timezone = "Mars/Olympus"\n', "city.timezone", "IANA"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, text, key, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_city(path)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: {key}")
    assert expected in msg


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_city(_write(tmp_path, "[city\nname="))
    with pytest.raises(ConfigError, match="file not found"):
        load_city(tmp_path / "nope.toml")


def test_app_start_fails_with_the_line_not_a_traceback(tmp_path):
    bad = _write(tmp_path, GOOD.replace("centre = [55.86, -4.25]", "centre = [1]"))
    r = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"CITYDASH_CITY": str(bad), "CITYDASH_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith(f"citydash: {bad}: city.centre")
    assert "Traceback" not in r.stderr


def test_settings_from_environment():
    s = Settings.from_env({"DATABASE_URL": "postgres://u:p@h/db", "CITYDASH_PORT": "9000"})
    assert s.sqlalchemy_url == "postgresql+psycopg://u:p@h/db" and s.port == 9000
    with pytest.raises(ConfigError, match="CITYDASH_PORT"):
        Settings.from_env({"CITYDASH_PORT": "eighty"})
