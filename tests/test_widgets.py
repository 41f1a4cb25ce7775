"""The slider helper: a scrubber with every frame in the static book, live widgets
elsewhere."""

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaebook import widgets  # noqa: E402

ROOT = Path(__file__).parents[1]
IPYWIDGETS7 = (
    ROOT / ".ipywidgets7"
)  # scripts/setup.sh: pip install --target it ipywidgets 7.7.1


@pytest.fixture(autouse=True)
def no_open_figures():
    """Each test starts with no pyplot figure open (other test files may leave some)."""
    plt.close("all")
    yield


def draw(a, b="x"):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.set_title(f"{a}{b}")
    return fig


def one_figure():
    """A draw that updates one figure in place (the fast way the contract allows)."""
    fig, ax = plt.subplots(figsize=(3, 2))
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_ylim(-3, 3)
    calls = []

    def draw_in_place(slope):
        line.set_ydata([0, slope])
        calls.append(slope)
        return fig

    return fig, draw_in_place, calls


def frames_of(html):
    return re.findall(
        r'"(iVBOR[^"]+)"', re.search(r"var frames=(\[.*?\]);", html).group(1)
    )


def png_size(b64):
    png = base64.b64decode(b64)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_static_scrubber_embeds_every_frame(monkeypatch):
    monkeypatch.setenv("VAEBOOK_STATIC", "1")
    out = widgets.explore(
        draw, a=[1, 2, 3], b=["x", "y"], initial={"a": 2, "b": "y"}, title="demo"
    )
    html = out.data
    frames = frames_of(html)
    assert len(frames) == 6 and len(set(frames)) == 6, (
        "one different frame per combination"
    )
    controls = html.split("<script>")[0]
    assert controls.count('type="range"') == 2 and "http" not in controls.replace(
        "data:image/png", ""
    )
    assert 'value="1"' in controls  # a=2 is index 1, b="y" is index 1
    # frames at the book's dpi (100): a 2 in wide figure is about 200 px (tight box)
    width, _ = png_size(frames[0])
    assert 150 < width <= 250, width
    assert plt.get_fignums() == [], "explore leaves no figure for Jupyter to show twice"


def test_static_value_labels_have_one_fixed_width(monkeypatch):
    monkeypatch.setenv("VAEBOOK_STATIC", "1")
    families = ["Gaussian", "Student's t (df=4)", "Uniform"]
    html = widgets.explore(lambda family: draw(family), family=families).data
    value = re.search(r'<b class="value" style="([^"]*)">', html).group(1)
    assert f"width:{len(families[1]) + 1}ch" in value and "nowrap" in value
    name = re.search(r'<span style="(flex:none;width:\d+ch)">family</span>', html)
    assert name, "the parameter name has a fixed width too"


def test_same_figure_is_rerendered_not_closed(monkeypatch):
    monkeypatch.setenv("VAEBOOK_STATIC", "1")
    fig, draw_in_place, calls = one_figure()
    html = widgets.explore(draw_in_place, slope=[-2.0, 0.0, 2.0]).data
    frames = frames_of(html)
    assert calls == [-2.0, 0.0, 2.0] and len(set(frames)) == 3, (
        "every frame shows its value"
    )
    assert len({png_size(f) for f in frames}) == 1, "one figure keeps one frame size"
    # the figure still works after explore: draw can keep updating and saving it
    draw_in_place(1.0).savefig(os.devnull, format="png")
    assert plt.get_fignums() == []


def test_new_figures_are_closed(monkeypatch):
    monkeypatch.setenv("VAEBOOK_STATIC", "1")
    made = []

    def fresh(a):
        made.append(draw(a))
        return made[-1]

    widgets.explore(fresh, a=[1, 2, 3])
    assert len(made) == 3 and plt.get_fignums() == []


def test_timing_file_has_one_line_per_frame(monkeypatch, tmp_path):
    log = tmp_path / "timings.jsonl"
    monkeypatch.setenv("VAEBOOK_STATIC", "1")
    monkeypatch.setenv(widgets.TIMINGS_ENV, str(log))
    monkeypatch.setenv(widgets.NOTEBOOK_ENV, "/x/book/demo.ipynb")
    widgets.explore(draw, a=[1, 2], b=["x", "y", "z"], title="two sliders")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rows) == 6
    for row in rows:
        assert row["title"] == "two sliders" and row["params"] == ["a", "b"]
        assert row["notebook"] == "demo.ipynb" and row["mode"] == "static"
        assert row["draw_ms"] > 0 and row["render_ms"] > 0 and row["png_bytes"] > 0
    assert rows[0]["full_draw"]  # the first frame draws everything
    assert {tuple(r["values"].values()) for r in rows} == {
        (a, b) for a in ("1", "2") for b in ("x", "y", "z")
    }


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
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        widgets.explore(lambda a: None, a=[1, 2])


# --- live sliders (run again under ipywidgets 7.7.1 by the last test)


def test_live_sliders_build_and_a_move_rerenders(monkeypatch, tmp_path):
    monkeypatch.delenv("VAEBOOK_STATIC", raising=False)
    monkeypatch.setenv(widgets.TIMINGS_ENV, str(tmp_path / "t.jsonl"))
    import ipywidgets

    expected = os.environ.get("VAEBOOK_EXPECT_IPYWIDGETS")
    if expected:  # the ipywidgets-7 run checks it really imported 7.x
        assert ipywidgets.__version__ == expected, ipywidgets.__file__
    families = ["Gaussian", "Student's t (df=4)"]
    box = widgets.explore(
        lambda family, a: draw(a, family),
        family=families,
        a=[1, 2],
        initial={"family": "Gaussian", "a": 1},
        title="demo",
    )
    assert isinstance(box, ipywidgets.VBox) and isinstance(box.image, ipywidgets.Image)
    assert list(box.sliders) == ["family", "a"]
    assert [s.description for s in box.sliders.values()] == ["family", "a"]
    rows = [c for c in box.children if isinstance(c, ipywidgets.HBox)]
    widths = [[w.layout.width for w in row.children] for row in rows]
    first = bytes(box.image.value)
    assert first.startswith(b"\x89PNG")
    box.move(family="Student's t (df=4)")
    assert bytes(box.image.value) != first, "a move renders a new frame"
    assert rows[0].children[1].value == "Student's t (df=4)"
    assert [[w.layout.width for w in row.children] for row in rows] == widths, (
        "fixed widths: the layout does not jump when a value label changes"
    )
    box.sliders["a"].value = 1  # what the browser does: the observer redraws
    assert rows[1].children[1].value == "2"
    modes = [json.loads(line)["mode"] for line in open(tmp_path / "t.jsonl")]
    assert modes == ["live"] * 3
    assert plt.get_fignums() == []


def test_live_same_figure_and_busy_sign(monkeypatch):
    monkeypatch.delenv("VAEBOOK_STATIC", raising=False)
    fig, draw_in_place, calls = one_figure()
    seen = {}

    def slow(slope):
        if calls:  # not the first frame: be slow, and look at the sign while slow
            time.sleep(widgets.BUSY_AFTER_S + 0.25)
            seen["status"] = box.status.value
        return draw_in_place(slope)

    box = widgets.explore(slow, slope=[-2.0, 0.0, 2.0])
    before = bytes(box.image.value)
    box.move(slope=2.0)
    assert seen["status"] == widgets.BUSY, "a slow move shows the busy sign"
    assert box.status.value == "", "and clears it when the frame is ready"
    assert bytes(box.image.value) != before and calls == [0.0, 2.0]


def test_live_draw_error_keeps_the_last_frame(monkeypatch):
    monkeypatch.delenv("VAEBOOK_STATIC", raising=False)

    def fragile(a):
        if a == 2:
            raise RuntimeError("no frame for a=2")
        return draw(a)

    box = widgets.explore(fragile, a=[1, 2], initial={"a": 1})
    before = bytes(box.image.value)
    with pytest.raises(RuntimeError):
        box.move(a=2)
    assert bytes(box.image.value) == before and "no frame for a=2" in box.status.value


def test_live_sliders_under_ipywidgets_7():
    """The live path again, in a subprocess importing ipywidgets 7.7.1 (as Colab)."""
    if not (IPYWIDGETS7 / "ipywidgets").is_dir():
        pytest.skip(
            f"{IPYWIDGETS7} is missing: scripts/setup.sh installs ipywidgets 7.7.1 "
            "there"
        )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(IPYWIDGETS7), str(ROOT)]),
        "VAEBOOK_EXPECT_IPYWIDGETS": "7.7.1",
    }
    env.pop("VAEBOOK_STATIC", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            __file__,
            "-k",
            "live and not ipywidgets_7",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "3 passed" in result.stdout, result.stdout[-1000:]


def test_slider_benchmark_table_puts_the_slowest_last(capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import sliders

    rows = [
        {
            "notebook": "a.ipynb",
            "explore": 1,
            "cell": 3,
            "title": "fast",
            "params": ["t"],
            "draw_ms": d,
            "render_ms": 20.0,
            "png_bytes": 2048,
            "same_figure": True,
            "full_draw": False,
        }
        for d in (10.0, 20.0, 30.0)
    ] + [
        {
            "notebook": "b.ipynb",
            "explore": 1,
            "cell": 5,
            "title": "slow",
            "params": ["k"],
            "draw_ms": d,
            "render_ms": 100.0,
            "png_bytes": 4096,
            "same_figure": False,
            "full_draw": True,
        }
        for d in (200.0, 300.0)
    ]
    table = sliders.summarize(rows)  # the first frame of each is not a move
    assert [r["title"] for r in table] == ["fast", "slow"]
    assert [r["first_ms"] for r in table] == [30.0, 300.0]
    assert table[0]["median_ms"] == 45.0 and table[1]["median_ms"] == 400.0
    assert table[0]["render_share"] == pytest.approx(40 / 90)  # 2 x 20 of 40 + 50
    assert table[1]["render_share"] == pytest.approx(100 / 400)
    assert [r["full"] for r in table] == [0, 1]  # moves that drew the whole figure
    sliders.print_table(table)
    out = capsys.readouterr().out.splitlines()
    assert "ok" in out[2] and "SLOW" in out[3] and "1 over 100 ms" in out[-1]
    assert "slowest move 400 ms" in out[-1]


class Scene:
    """A slider figure whose every frame is a function of k alone: a line under a
    legend, a title, limits that change at k = 3 and an artist there from k = 4 on."""

    def __init__(self):
        self.fig, self.ax = plt.subplots(figsize=(3, 2))
        (self.line,) = self.ax.plot([0, 1], [0, 1], lw=4, label="data")
        self.ax.legend(loc="center", framealpha=1)
        self.ax.grid(alpha=0.5)
        self.ax.set_yticks([0, 1, 2])
        self.title = self.ax.set_title(" ")
        self.fig.subplots_adjust(left=0.15, right=0.95, bottom=0.15, top=0.85)
        self.dot = None

    def draw(self, k):
        self.line.set_ydata([0, k / 2])
        self.ax.get_legend().get_texts()[0].set_text(f"data {k}")
        self.title.set_text(f"k = {k}")
        self.ax.set_ylim(0, 2 if k < 3 else 3)
        if k >= 4 and self.dot is None:
            (self.dot,) = self.ax.plot([0.5], [0.5], "o", color="C3")
        if k < 4 and self.dot is not None:
            self.dot.remove()
            self.dot = None
        return self.fig


def pixels(fig):
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_reused_figure_frames_are_full_draws_redrawing_only_what_changed():
    scene = Scene()
    render = widgets.FrameRenderer(scene.draw)
    for k in (1, 2, 1, 3, 2, 4, 1, 2):
        png = render({"k": k})
        fresh = Scene()
        fresh.draw(k)
        fresh.fig.canvas.draw()
        assert np.array_equal(pixels(scene.fig), pixels(fresh.fig)), k
        left, top, right, bottom = render.frames.crop
        assert widgets._png_size(png) == (right - left, bottom - top)
        plt.close(fresh.fig)
    moving = render.frames.moving
    assert scene.line in moving and scene.title in moving
    assert scene.ax.xaxis not in moving, "the axis (grid, ticks) is background"
    render.close()
    assert not any(a.get_animated() for a in scene.fig.findobj())


def test_frames_are_no_heavier_than_matplotlibs_png():
    import io

    scene = Scene()
    png = widgets.FrameRenderer(scene.draw)({"k": 2})
    buffer = io.BytesIO()
    scene.fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.1)
    assert len(png) <= len(buffer.getvalue())


def test_a_change_inside_a_legend_is_redrawn():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], label="a")
    legend = ax.legend()

    def draw(k):
        legend.get_texts()[0].set_text(f"k = {k}")  # only the legend's text moves
        return fig

    render = widgets.FrameRenderer(draw)
    frames = [render({"k": k}) for k in (1, 22, 1)]
    assert frames[0] != frames[1] and frames[0] == frames[2]


def test_only_artists_that_meet_a_change_are_redrawn_with_it():
    """An image that changes under its axes' title: the title (outside the image's
    clip box) stays in the background, a legend over a moving line does not, and
    every frame is still the picture a full draw gives."""

    def scene():
        fig, (left, right) = plt.subplots(1, 2, figsize=(5, 2.5))
        fig.subplots_adjust(top=0.8, bottom=0.15)  # all inside: frames are cropped
        image = left.imshow(np.zeros((4, 4)), vmin=0, vmax=16, cmap="gray_r")
        left.set_title("images")
        (line,) = right.plot([0, 1], [0, 1], lw=3, label="data")
        legend = right.legend(loc="center", framealpha=0.5)
        right.set_title("a line")

        def draw(k):
            image.set_data(np.arange(16).reshape(4, 4) % (k + 1))
            line.set_ydata([0, k / 4])
            return fig

        return fig, draw, (left.title, right.title, legend, line, image)

    fig, draw, (left_title, right_title, legend, line, image) = scene()
    render = widgets.FrameRenderer(draw)
    for k in (1, 2, 3, 1):
        render({"k": k})
        fresh, fresh_draw, _ = scene()
        fresh_draw(k)
        fresh.canvas.draw()
        assert np.array_equal(pixels(fig), pixels(fresh)), k
        plt.close(fresh)
    assert render.frames.crop is not None, "the blitting path, not savefig's"
    moving = render.frames.moving
    assert line in moving and image in moving and legend in moving
    assert left_title not in moving and right_title not in moving
    render.close()


def test_a_legend_placed_off_the_moving_curves_stays_in_the_background():
    """A legend at a fixed place above the axes does not meet the moving line's
    clip box: it is not redrawn on a move (a legend at loc="best" may move with the
    data, so it always is), and the frames are the pictures of full draws."""

    def scene(loc):
        fig, ax = plt.subplots(figsize=(3, 2.5))
        fig.subplots_adjust(top=0.7, bottom=0.15)
        (line,) = ax.plot([0, 1], [0, 1], lw=3, label="data")
        where = {"loc": "lower center", "bbox_to_anchor": (0.5, 1.03)}
        legend = ax.legend(**(where if loc == "above" else {"loc": "best"}))

        def draw(k):
            line.set_ydata([0, k / 4])
            return fig

        return fig, draw, legend

    for loc, redrawn in (("above", False), ("best", True)):
        fig, draw, legend = scene(loc)
        render = widgets.FrameRenderer(draw)
        for k in (1, 3, 2):
            render({"k": k})
            fresh, fresh_draw, _ = scene(loc)
            fresh_draw(k)
            fresh.canvas.draw()
            assert np.array_equal(pixels(fig), pixels(fresh)), (loc, k)
            plt.close(fresh)
        assert render.frames.crop is not None
        assert (legend in render.frames.moving) is redrawn, loc
        render.close()


def test_declared_artists_make_the_first_move_a_blit():
    """With SliderFigure.moves, the first move redraws only the declared artists: no
    full draw after the first frame, and the same pixels as a full draw."""
    from vaebook.plots.style import SliderFigure

    class Declared(SliderFigure):
        def __init__(self):
            self.fig, self.ax = plt.subplots(figsize=(3, 2))
            self.fig.subplots_adjust(left=0.15, right=0.95, bottom=0.15, top=0.8)
            (self.line,) = self.ax.plot([0, 1], [0, 1], lw=3)
            self.title = self.ax.set_title(" ")
            self.moves(self.line, self.title)

        def draw(self, k):
            self.line.set_ydata([0, k / 4])
            self.title.set_text(f"k = {k}")
            return self.fig

    figure = Declared()
    render = widgets.FrameRenderer(figure.draw)
    render({"k": 1})
    full_draws = []
    figure.fig.canvas.mpl_connect("draw_event", full_draws.append)
    for k in (2, 3, 1):
        render({"k": k})
        fresh = Declared()
        fresh.draw(k)
        fresh.fig.canvas.draw()
        assert np.array_equal(pixels(figure.fig), pixels(fresh.fig)), k
        plt.close(fresh.fig)
    assert full_draws == [], "every move blitted the declared artists"
    moving = render.frames.moving
    assert figure.line in moving and figure.title in moving
    assert figure.ax.xaxis not in moving and figure.ax.yaxis not in moving
    render.close()


def test_priming_makes_the_first_move_of_an_undeclared_figure_a_blit():
    """A draw that declares nothing: prime() draws the values one step away, learns
    the artists they move, and the first move then blits (no full draw) with the
    pixels of a full draw; a draw that builds a new figure per call is left alone,
    and no figure is left open in pyplot."""

    def scene():
        fig, ax = plt.subplots(figsize=(3, 2))
        fig.subplots_adjust(left=0.15, right=0.95, bottom=0.15, top=0.8)
        (line,) = ax.plot([0, 1], [0, 1], lw=3)
        title = ax.set_title(" ")

        def draw(k, c):
            line.set_ydata([0, k / 4])
            line.set_color(c)
            title.set_text(f"k = {k}")
            return fig

        return fig, draw

    fig, draw = scene()
    render = widgets.FrameRenderer(draw)
    start = {"k": 1, "c": "C0"}
    render(start)
    render.prime(start, widgets.neighbours({"k": [1, 2, 3], "c": ["C0", "C1"]}, start))
    assert set(render.frames.moving) >= {fig.axes[0].lines[0], fig.axes[0].title}
    full_draws = []
    fig.canvas.mpl_connect("draw_event", full_draws.append)
    for k, c in [(2, "C0"), (3, "C1"), (1, "C0")]:
        render({"k": k, "c": c})
        fresh, fresh_draw = scene()
        fresh_draw(k, c)
        fresh.canvas.draw()
        assert np.array_equal(pixels(fig), pixels(fresh)), k
        plt.close(fresh)
    assert full_draws == []
    render.close()
    plt.close("all")

    def new_each_time(k):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1], [0, k])
        return fig

    render = widgets.FrameRenderer(new_each_time)
    render({"k": 1})
    render.prime({"k": 1}, [{"k": 2}])
    assert plt.get_fignums() == [] and render.frames.moving == []
    render.close()


def test_neighbours_move_one_slider_one_step():
    grids = {"a": [1, 2, 3], "b": ["x"], "c": [0.1, 0.2]}
    assert widgets.neighbours(grids, {"a": 3, "b": "x", "c": 0.1}) == [
        {"a": 2, "b": "x", "c": 0.1},
        {"a": 3, "b": "x", "c": 0.2},
    ]


def test_priming_leaves_a_failing_value_to_the_move_that_asks_for_it():
    fig, ax = plt.subplots(figsize=(3, 2))
    fig.subplots_adjust(left=0.15, right=0.95, bottom=0.15, top=0.8)
    (line,) = ax.plot([0, 1], [0, 1])

    def draw(k):
        if k == 2:
            raise ValueError("no run for k = 2")
        line.set_ydata([0, k])
        return fig

    render = widgets.FrameRenderer(draw)
    first = render({"k": 1})
    render.prime({"k": 1}, [{"k": 2}])  # no error here
    assert render({"k": 1}) == first and list(line.get_ydata()) == [0, 1]
    with pytest.raises(ValueError, match="k = 2"):
        render({"k": 2})
    render.close()
    plt.close("all")
