"""tools/nbtool.py tag-checks: which cells are checks, and every chapter's are tagged.

A check cell only guards the numbers (asserts, the scratch values they compare, a
printed summary); the book folds its code under "Show the checks" (tags ``check`` and
``hide-input``) while it still runs under nbval and in Colab.
"""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
TOOL = ROOT / "tools" / "nbtool.py"
spec = importlib.util.spec_from_file_location("nbtool", TOOL)
nbtool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbtool)


def notebook(*sources: str):
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(s) for s in sources]
    )


@pytest.mark.parametrize(
    "source",
    [
        "assert 1 + 1 == 2",
        "import math\n# the closed form\nassert math.isclose(math.exp(0), 1)",
        "gap = a - b\nassert gap < 1\nprint(f'gap {gap:.2f}')",
        "for k in (1, 2):\n    assert k > 0, k",
        "def close(x, y):\n    return abs(x - y) < 1e-6\n\n\nassert close(a, a)",
    ],
)
def test_a_cell_that_only_checks_is_a_check(source):
    assert nbtool.check_cells(notebook("a, b = 1.0, 0.5", source)) == [1]


@pytest.mark.parametrize(
    "source, why",
    [
        ("x = 2\nprint(x)", "no assert"),
        ("assert a\ntable", "shows a value"),
        ("assert a\nplt.show()", "calls something that shows"),
        ("assert a\nplot_curves(a)", "draws a figure"),
        ("y = a * 2\nassert y > 0", "defines y, read by the next cell"),
        ("a[0] = 3\nassert a", "changes a, read by the next cell"),
        ('%pip install -q "pkg"\nassert True', "a magic: not Python"),
    ],
)
def test_a_cell_that_computes_or_shows_stays_visible(source, why):
    nb = notebook("a = [1.0]", source, "print(y if 'y' in dir() else a)")
    assert nbtool.check_cells(nb) == [], why


def test_a_name_bound_again_before_it_is_read_is_scratch():
    nb = notebook("gap = 1\nassert gap", "gap = 2\nprint(gap)")
    assert nbtool.check_cells(nb) == [0]


def test_tag_checks_tags_both_twins_and_undoes_its_own_tags(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "chapters").mkdir()
    shutil.copy(ROOT / "jupytext.toml", tmp_path)
    nb = notebook("x = 1", "assert x == 1", "print(x)")
    nb.cells[2].metadata["tags"] = ["hide-input"]  # set by hand: kept
    path = tmp_path / "book" / "demo.ipynb"
    nbformat.write(nb, path)
    twin = tmp_path / "chapters" / "demo.md"
    jupytext.write(nb, twin, fmt="md:myst")
    run = [sys.executable, str(TOOL), "tag-checks"]
    check = subprocess.run([*run, "--check", str(path)], capture_output=True)
    assert check.returncode == 1  # one cell to tag
    subprocess.run([*run, str(path)], check=True, cwd=tmp_path)
    tagged = nbformat.read(path, as_version=4)
    assert tagged.cells[1].metadata["tags"] == ["check", "hide-input"]
    assert tagged.cells[2].metadata["tags"] == ["hide-input"]
    assert ":tags: [check, hide-input]" in twin.read_text()
    assert jupytext.read(twin).cells[1].metadata["tags"] == ["check", "hide-input"]
    check = subprocess.run([*run, "--check", str(path)], capture_output=True)
    assert check.returncode == 0
    tagged.cells[1].source = "y = x + 1\nassert y"  # now defines y, read below
    tagged.cells[2].source = "print(y)"
    nbformat.write(tagged, path)
    subprocess.run(
        [sys.executable, "-m", "jupytext", "--sync", "--quiet", str(path)],
        check=True,
        cwd=tmp_path,
    )
    subprocess.run([*run, str(path)], check=True, cwd=tmp_path)
    assert "tags" not in nbformat.read(path, as_version=4).cells[1].metadata


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_check_cell_of_a_chapter_is_folded(path):
    """Fix: python tools/nbtool.py tag-checks book/*.ipynb (tags the .md twins too)."""
    nb = nbformat.read(path, as_version=4)
    untagged = [
        i
        for i in nbtool.check_cells(nb)
        if not {"check", "hide-input"} <= set(nb.cells[i].metadata.get("tags", []))
    ]
    stale = [
        i
        for i, cell in enumerate(nb.cells)
        if "check" in cell.metadata.get("tags", []) and i not in nbtool.check_cells(nb)
    ]
    fix = f"run: python tools/nbtool.py tag-checks book/{path.name}"
    assert untagged == [], f"check cells {untagged} are not tagged: {fix}"
    assert stale == [], f"cells {stale} are tagged check but are not checks: {fix}"
