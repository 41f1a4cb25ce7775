"""book/_ext/vaebook_build.py moves scrubber frames out of the page (issue 16, weight):
each frame is an image file named by its content, the page keeps the URLs, and the
scrubber's script shows a frame's file on a move and fetches its neighbours ahead."""

import base64
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from vaebook import widgets  # noqa: E402

ROOT = Path(__file__).parents[1]
spec = importlib.util.spec_from_file_location(
    "vaebook_build", ROOT / "book" / "_ext" / "vaebook_build.py"
)
vaebook_build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vaebook_build)


def draw(a, b="x"):
    """Frames differ in ``a`` only: b="x" and b="y" draw the same picture."""
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.set_title(f"{a}")
    return fig


@pytest.fixture
def scrubber():
    html = widgets.scrubber_html(
        draw, {"a": [1, 2, 3], "b": ["x", "y"]}, {"a": 2, "b": "y"}
    )
    plt.close("all")
    return html


def frames_in(html):
    return json.loads(re.search(r"var frames=(\[.*?\]);", html)[1])


def page_with(scrubber):
    """A page body as myst-nb writes a text/html output, with other images around."""
    other = '<img alt="plot" src="../_images/abc.png">'
    kept = '<img alt="inline" src="data:image/png;base64,iVBORw0KGgo=">'
    return (
        f'<section><p>Text</p>{other}<div class="cell_output docutils container">'
        f'<div class="output text_html">{scrubber}</div></div>{kept}</section>'
    )


def test_frames_become_files_named_by_content(tmp_path, scrubber):
    pngs = [base64.b64decode(f) for f in frames_in(scrubber)]
    body, count = vaebook_build.extract_frames(
        page_with(scrubber), tmp_path, lambda name: "../" + name
    )
    assert count == 3 == len(set(pngs)), "six combinations, three pictures: 3 files"
    files = sorted((tmp_path / "_images").iterdir())
    assert len(files) == 3 and all(f.name.startswith("scrubber-") for f in files)
    assert not list((tmp_path / "_images").glob("*.part"))
    urls = frames_in(body)
    assert len(urls) == 6 and all(u.startswith("../_images/scrubber-") for u in urls)
    for url, png in zip(urls, pngs):
        assert (tmp_path / url.removeprefix("../")).read_bytes() == png
    # the scrubber carries no inline frame; the page's other images are untouched
    start = body.index('class="vaebook-scrubber"')
    assert "iVBOR" not in body[start : body.index("</script>", start)]
    assert '<img alt="plot" src="../_images/abc.png">' in body
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in body
    # the <img> starts on the file of the start frame (a=2, b="y": index 3)
    img = re.search(r'<img alt="figure"[^>]*src="([^"]+)"', body)[1]
    assert img == urls[3]
    assert len(body) < len(scrubber) / 10


def test_a_second_page_reuses_the_files_and_nothing_else_changes(tmp_path, scrubber):
    vaebook_build.extract_frames(page_with(scrubber), tmp_path, lambda n: "../" + n)
    stamps = {f: f.stat().st_mtime_ns for f in (tmp_path / "_images").iterdir()}
    body, _ = vaebook_build.extract_frames(scrubber, tmp_path, lambda n: n)
    assert {f: f.stat().st_mtime_ns for f in (tmp_path / "_images").iterdir()} == stamps
    assert all(u.startswith("_images/") for u in frames_in(body))
    plain = "<p>no scrubber here: var frames</p>"
    assert vaebook_build.extract_frames(plain, tmp_path, str) == (plain, 0)


SCRIPT_HARNESS = """
const inputs = %(inputs)s.map(v => ({value: String(v), on: null,
  addEventListener(kind, f) { this.on = f; }}));
const values = inputs.map(() => ({textContent: ""}));
const img = {src: ""};
const fetched = [];
globalThis.Image = function () { return {set src(u) { fetched.push(u); }}; };
const root = {querySelectorAll: s => (s === "input" ? inputs : values),
  querySelector: () => img};
globalThis.document = {getElementById: () => root};
%(script)s
const moves = [];
for (const [k, v] of %(moves)s) {
  inputs[k].value = String(v);
  fetched.length = 0;
  inputs[k].on();
  moves.push({src: img.src, labels: values.map(x => x.textContent),
              ahead: fetched.slice()});
}
console.log(JSON.stringify(moves));
"""


def run_script(html, inputs, moves):
    script = re.search(r"<script>(.*)</script>", html, re.S)[1]
    code = SCRIPT_HARNESS % {
        "inputs": json.dumps(inputs),
        "script": script,
        "moves": json.dumps(moves),
    }
    out = subprocess.run(
        ["node", "-e", code], capture_output=True, text=True, check=True, timeout=30
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_script_shows_the_file_of_a_move_and_fetches_neighbours(tmp_path, scrubber):
    body, _ = vaebook_build.extract_frames(scrubber, tmp_path, lambda n: n)
    urls = frames_in(body)
    # start a=2 (index 1), b="y" (1); move a to 3 (index 2), then b to "x" (0)
    first, second = run_script(body, [1, 1], [[0, 2], [1, 0]])
    assert first["src"] == urls[2 * 2 + 1] and first["labels"] == ["3", "y"]
    # neighbours one step away: a=2 (index 3, the start frame: shown) and b="x" (4)
    assert first["ahead"] == [urls[4]]
    assert second["src"] == urls[4] and second["labels"] == ["3", "x"]
    assert second["ahead"] == [urls[2]], "a=2,b=x is new; a=3,b=y was shown"


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_script_still_shows_inline_frames_in_a_notebook(scrubber):
    b64 = frames_in(scrubber)
    (move,) = run_script(scrubber, [1, 1], [[0, 0]])
    assert move["src"] == "data:image/png;base64," + b64[1]
    assert move["ahead"] == [], "a notebook has every frame already"
