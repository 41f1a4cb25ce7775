"""House style that a tool can check: ruff on the code and chapters, figure sizes."""

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from vaebook.plots import style  # noqa: E402

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


def test_check_figure_accepts_a_column_wide_figure():
    fig, ax = plt.subplots(figsize=(style.WIDTH, style.WIDTH / 2))
    ax.plot([0, 1], [0, 1], label="line")
    ax.set(xlabel="x", ylabel="y", title="fits the column")
    ax.legend()
    assert style.check_figure(fig) == []
    assert style.natural_width_px(fig) <= style.COLUMN_PX
    plt.close(fig)


def test_check_figure_names_what_breaks_the_rules():
    fig, axes = plt.subplots(1, 4, figsize=(12, 3), dpi=100)
    axes[0].set_title("tiny", fontsize=6)
    problems = style.check_figure(fig)
    plt.close(fig)
    too_wide = [p for p in problems if "natural width" in p and "> column 688 px" in p]
    assert too_wide, problems
    assert any("'tiny'" in p for p in problems), problems


def test_the_book_style_is_applied_when_plots_is_imported():
    import vaebook.plots  # noqa: F401

    assert matplotlib.rcParams["figure.dpi"] == style.DPI == 100
    assert matplotlib.rcParams["savefig.bbox"] == "tight"
    from vaebook import widgets

    assert widgets.FRAME_DPI == style.DPI, "slider frames and figures share one dpi"
