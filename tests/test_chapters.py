"""Static checks of the chapters: committed without outputs, Colab cells agree with _config.yml."""
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


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
    assert "widgets" not in nb["metadata"], "Colab's widget metadata breaks GitHub rendering"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, "commit chapters without outputs"
    first = "".join(code[0]["source"])
    assert '"google.colab" in sys.modules' in first
    assert f'%pip install -q "git+{CONFIG["repository"]["url"]}"' in first
    sources = "".join("".join(c["source"]) for c in code)
    assert "assert " in sources, "every chapter checks its math with asserts"
