"""``python -m lava.common.schema``: verdict lines, JSON and exit statuses."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lava.common.schema.cli import main

VALID = """\
job_name: smoke
device_type: qemu
visibility: public
timeouts: {job: {minutes: 10}}
actions:
- boot: {method: qemu, media: tmpfs, prompts: ['# ']}
"""
EXTRA_KEY = VALID.replace("job_name: smoke", "job_name: smoke\nowner: me")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "valid": tmp_path / "valid.yaml",
        "extra": tmp_path / "extra.yaml",
        "broken": tmp_path / "broken.yaml",
    }
    paths["valid"].write_text(VALID)
    paths["extra"].write_text(EXTRA_KEY)
    paths["broken"].write_text("job_name: [x\n")
    return paths


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def test_valid_file(files: dict[str, Path]) -> None:
    assert run(str(files["valid"])) == (0, f"{files['valid']}: valid\n")


def test_non_strict_is_the_default(files: dict[str, Path]) -> None:
    assert run(str(files["extra"]))[0] == 0
    status, out = run("--strict", str(files["extra"]))
    assert status == 1
    assert out == f"{files['extra']}: invalid: extra keys not allowed @ owner\n"


def test_json(files: dict[str, Path]) -> None:
    status, out = run("--json", "--strict", *(str(p) for p in files.values()))
    assert status == 1
    verdicts = json.loads(out)
    assert verdicts["valid.yaml"] == {"valid": True, "error": ""}
    assert verdicts["extra.yaml"]["valid"] is False
    assert verdicts["broken.yaml"]["error"].startswith("line 2, column 1: ")


def test_unreadable_file_names_it(files: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    missing = files["valid"].parent / "missing.yaml"
    status, out = run(str(files["valid"]), str(missing))
    assert status == 2
    assert "missing.yaml: cannot read the file" in capsys.readouterr().err
    assert out == f"{files['valid']}: valid\n"


def test_unreadable_file_in_json(files: dict[str, Path]) -> None:
    status, out = run("--json", str(files["valid"].parent))
    assert status == 2
    (verdict,) = json.loads(out).values()
    assert verdict["valid"] is False and "cannot read" in verdict["error"]


def test_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lava.common.schema"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_module_entry_point(files: dict[str, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lava.common.schema", "--strict", str(files["valid"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"{files['valid']}: valid\n")
