"""The slider helper: a scrubber with every frame in the static book, live widgets elsewhere."""
import re

import matplotlib.pyplot as plt
import pytest

from vaebook import widgets


def draw(a, b="x"):
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_title(f"{a}{b}")
    return fig


def test_static_scrubber_embeds_every_frame(monkeypatch):
    monkeypatch.setenv("VAEBOOK_STATIC", "1")
    out = widgets.explore(draw, a=[1, 2, 3], b=["x", "y"], initial={"a": 2, "b": "y"}, title="demo")
    html = out.data
    frames = re.search(r"var frames=(\[.*?\]);", html).group(1)
    assert frames.count("iVBOR") == 6  # base64 PNG signature, one per combination
    assert html.count('type="range"') == 2 and "cdn" not in html.lower()
    assert 'value="1"' in html  # a=2 is index 1, b="y" is index 1
    assert len(set(re.findall(r'"(iVBOR[^"]+)"', frames))) == 6, "different values draw different frames"


def test_live_mode_gives_ipywidgets(monkeypatch):
    monkeypatch.delenv("VAEBOOK_STATIC", raising=False)
    import ipywidgets

    box = widgets.explore(draw, a=[1, 2])
    assert isinstance(box, ipywidgets.VBox)
    assert [w.description for w in box.children[:-1]] == ["a"]


def test_bad_parameters_are_refused(monkeypatch):
    monkeypatch.setenv("VAEBOOK_STATIC", "1")
    with pytest.raises(ValueError, match="at least one parameter"):
        widgets.explore(draw)
    with pytest.raises(ValueError, match="not among its values"):
        widgets.explore(draw, a=[1, 2], initial={"a": 5})
    with pytest.raises(ValueError, match="unknown parameters"):
        widgets.explore(draw, a=[1, 2], initial={"c": 1})
    with pytest.raises(ValueError, match="frames"):
        widgets.explore(draw, a=list(range(10)), b=list(range(10)))
