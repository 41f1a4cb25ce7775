"""House style that a tool can check: ruff on the code and the chapters."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
RUFF = Path(sys.executable).parent / "ruff"


def test_ruff_config_covers_code_and_chapters():
    tomllib = pytest.importorskip("tomllib", reason="Python >= 3.11 reads TOML")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert config["line-length"] == 88
    assert "E501" in config["lint"]["select"] or "E" in config["lint"]["select"]
    code = ("vaebook/**/*.py", "tests/**/*.py", "benchmarks/**/*.py", "scripts/*.py")
    for path in (*code, "book/*.ipynb"):
        assert path in config["include"], f"ruff does not check {path}"


def test_code_and_chapters_pass_ruff():
    """`ruff check` on vaebook/, tests/, benchmarks/, scripts/*.py, book/*.ipynb."""
    if not RUFF.exists():
        pytest.fail(f"{RUFF} is missing: it is in requirements.txt (scripts/setup.sh)")
    command = [str(RUFF), "check", "--output-format", "concise", "--no-cache"]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert result.returncode == 0, (
        "ruff found problems (`.venv/bin/ruff check --fix` fixes the [*] ones; "
        "lines over 88 characters need rewrapping):\n"
        + "\n".join(lines[:200])
        + result.stderr[-2000:]
    )
