"""Static checks of the chapters: committed without outputs, Colab cells agree with
_config.yml, and each notebook agrees with its MyST Markdown twin in chapters/ (the
jupytext pairing)."""

import json
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
TWINS = sorted((ROOT / "chapters").glob("*.md"))
SYNC = ".venv/bin/jupytext --sync book/{}.ipynb"


def toc_files():
    files = [TOC["root"]]
    for part in TOC.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


def test_every_chapter_is_in_the_table_of_contents():
    listed = {f for f in toc_files()}
    assert CHAPTERS, "no chapters found"
    for nb in CHAPTERS:
        assert f"book/{nb.stem}" in listed, f"{nb.name} is not in _toc.yml"
    for f in listed:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f


def test_launch_buttons_point_at_the_repository():
    repo = CONFIG["repository"]
    assert repo["url"].startswith("https://github.com/") and repo["branch"]
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_stripped_and_installs_from_the_configured_repository(path):
    nb = json.loads(path.read_text())
    assert "widgets" not in nb["metadata"], (
        "Colab's widget metadata breaks GitHub rendering"
    )
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, (
            "commit chapters without outputs"
        )
    first = "".join(code[0]["source"])
    assert '"google.colab" in sys.modules' in first
    assert f'%pip install -q "git+{CONFIG["repository"]["url"]}"' in first
    sources = "".join("".join(c["source"]) for c in code)
    assert "assert " in sources, "every chapter checks its math with asserts"


def test_every_text_twin_has_its_notebook():
    assert TWINS, "no chapters/*.md found"
    for md in TWINS:
        assert (ROOT / "book" / f"{md.stem}.ipynb").exists(), (
            f"chapters/{md.name} has no notebook: run {SYNC.format(md.stem)}"
        )


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_and_text_twin_agree(path):
    """An edit made on one side only (in Jupyter, or in the .md) fails here until
    synced."""
    twin = ROOT / "chapters" / f"{path.stem}.md"
    fix = f"run `{SYNC.format(path.stem)}` (it copies the newer side onto the older)"
    assert twin.exists(), (
        f"book/{path.name} has no text twin chapters/{twin.name}: {fix}"
    )
    nb, md = jupytext.read(path), jupytext.read(twin)
    a, b = _cells(nb), _cells(md)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, (
            f"book/{path.name} and chapters/{twin.name} differ at cell {i} "
            f"({x[1][:60]!r} vs {y[1][:60]!r}): {fix}"
        )
    assert len(a) == len(b), (
        f"book/{path.name} has {len(a)} cells, chapters/{twin.name} {len(b)}: {fix}"
    )
    for key in ("accelerator", "colab", "kernelspec"):
        assert md.metadata.get(key) == nb.metadata.get(key), (
            f"notebook metadata {key!r} differs between the twins: {fix}"
        )
    assert nb.metadata.get("accelerator") == "GPU", (
        "Colab opens every chapter on a GPU runtime"
    )
