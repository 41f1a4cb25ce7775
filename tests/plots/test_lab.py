"""The annealing lab's figures (vaebook.plots.lab) on a synthetic grid: they fit the
book's column, slider moves update the same figure, a live run is drawn in its own
colour on axes that include all of it, and missing runs are said, not crashed on."""

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vaebook.experiments import annealing_lab as lab  # noqa: E402
from vaebook.plots import lab as lab_plots  # noqa: E402
from vaebook.plots import style  # noqa: E402

STEPS = [1, 25, 50, 75, 100]


def discrete(setting: lab.Setting, seed: int = 0, offset: float = 0.0) -> dict:
    hard = [500.0 - 3 * i + offset for i in range(len(STEPS))]
    test = {"images": 100, "temperature": 0.5, "sharpness": 5.0}
    for name, value in (("hard_neg_elbo", 150.0), ("relaxed_neg_elbo", 145.0)):
        test[name], test[f"{name}_se"] = value + offset, 0.3
    return {
        "key": setting.key,
        "seed": seed,
        "kind": "discrete",
        "setting": lab.asdict(setting),
        "steps": STEPS[-1],
        "stopped": "",
        "curves": {
            "step": STEPS,
            "hard": hard,
            "relaxed": [h - 5 for h in hard],
            "kl": [10.0] * 5,
            "temperature": [setting.schedule()(t) for t in STEPS],
            "sharpness": [1.0 + t / 25 for t in STEPS],
        },
        "variance": {"step": [0, 50, 100], "value": [1.0, 2.0, 4.0]},
        "test": test,
    }


def gaussian(warmup: float, free_bits: float) -> dict:
    kl = list(np.linspace(0.001, 2.0, 50))
    test = {"images": 100, "neg_elbo": 120.0, "neg_elbo_se": 0.3, "kl": sum(kl)}
    test.update(kl_per_dim=kl, activity=[2 * k * 0.9 for k in kl])
    test["active_units"] = sum(a > 0.01 for a in test["activity"])
    test["neg_iw_bound"] = {s: [121.0 - i, 0.4] for i, s in enumerate(["1", "5", "50"])}
    curves = {"step": [1, 200, 400], "active": [50, 40, 30], "kl_dims": [50, 45, 35]}
    curves.update(neg_elbo=[500, 200, 120], kl=[5, 20, 25], beta=[0, 0.5, 1])
    return {
        "key": lab.gaussian_key(warmup, free_bits),
        "seed": 0,
        "kind": "gaussian",
        "warmup": warmup,
        "free_bits": free_bits,
        "iw_samples": 1,
        "curves": curves,
        "test": test,
    }


@pytest.fixture(scope="module")
def grid():
    config = lab.asdict(lab.LabConfig(steps=100, gaussian_steps=400))
    runs, images = {}, {"originals": np.zeros((8, 784), np.uint8)}
    for setting in lab.grid_settings():
        runs[setting.key] = discrete(setting)
        for name in ("recon", "prior"):
            images[f"{setting.key}/{name}"] = np.full((8, 784), 128, np.uint8)
    for w in lab.WARMUPS:
        for fb in lab.FREE_BITS:
            runs[lab.gaussian_key(w, fb)] = gaussian(w, fb)
    for k in lab.IW_SAMPLES:
        run = gaussian(0.0, 0.0)
        run.update(key=lab.iw_key(k), kind="iw", iw_samples=k)
        runs[run["key"]] = run
    return {"config": config, "runs": runs, "images": images, "missing": []}


def problems(fig) -> list[str]:
    return style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )


def test_temperature_sliders_update_one_figure_that_fits(grid):
    draw = lab_plots.temperature_draw(grid)
    first = draw(2.0, 0.2, 5e-3)
    assert draw(1.0, 0.05, 5e-2) is first and problems(first) == []
    assert "145.00" in first._suptitle.get_text(), "test numbers with their SE"
    figure = lab_plots.ScheduleFigure(grid)
    figure.draw(grid["runs"]["tau_s1_r0"], None, "t", "")
    assert "refused" in lab.lookup(grid, 0.5, 0.5, 5e-3)[1]
    plt.close("all")


def test_live_run_is_drawn_in_its_colour_on_axes_that_include_it(grid):
    figure = lab_plots.ScheduleFigure(grid)
    figure.draw(grid["runs"]["tau_s2_f0.2_r0.005"], None, "t")
    live = discrete(lab.Setting(2.0, 0.2, 5e-3), seed=1, offset=400.0)  # far above
    figure.show_live(live, "live run")
    line = figure.live["hard"]
    assert line.get_color() == lab_plots.LIVE and list(line.get_xdata()) == STEPS
    low, high = figure.ax_e.get_ylim()
    assert low <= min(live["curves"]["relaxed"]) and high >= max(live["curves"]["hard"])
    assert (
        figure.note.get_text() == "live run"
        and figure.note.get_color() == lab_plots.LIVE
    )
    figure.show_live(None)
    assert list(figure.live["hard"].get_xdata()) == []
    plt.close("all")


def test_control_still_says_what_the_live_run_reached(grid):
    shipped = grid["runs"]["tau_s2_f0.5_r0.005"]
    live = discrete(lab.Setting(2.0, 0.5, 5e-3), seed=1, offset=1.0)
    fig = lab_plots.control_still(grid, live, shipped, 12.0)
    text = " ".join(t.get_text() for t in fig.texts)
    assert "live (seed 1): 100 steps in 12 s" in text and "(shipped 150.00)" in text
    assert problems(fig) == []
    plt.close("all")


def test_sharpness_warmup_iw_and_teaching_figures_fit(grid):
    draw = lab_plots.sharpness_draw(grid)
    fig = draw("f1", "from 1")
    assert draw("f3", "fixed") is fig and problems(fig) == []  # one figure, all f
    low, high = fig.axes[1].get_ylim()  # the -ELBO axes hold every smoother's runs
    runs = lab_plots.family_runs(grid, "sharpness")
    assert {r["key"][:8] for r in runs} >= {"kappa_f1", "kappa_f2"}
    for run in runs:
        curves = run["curves"]["hard"] + run["curves"]["relaxed"]
        assert low <= min(curves) and max(curves) <= high, run["key"]
    warm = lab_plots.warmup_draw(grid)
    fig = warm(0.5, 0.0)
    assert warm(0.0, 0.25) is fig and problems(fig) == []
    assert "active units at the end" in fig._suptitle.get_text()
    assert problems(lab_plots.iw_bounds(grid)) == []
    assert problems(lab_plots.teaching_curves(grid, lab.TEACHING)) == []
    plt.close("all")


def test_a_missing_run_is_said_not_crashed_on(grid):
    partial = dict(grid, runs=dict(grid["runs"]))
    del partial["runs"]["tau_s2_f0.2_r0.05"]
    run, note = lab.lookup(partial, 2.0, 0.2, 5e-2)
    assert run["key"] == "tau_s2_r0" and "not trained" in note
    del partial["runs"][lab.gaussian_key(0.5, 0.25)]
    fig = lab_plots.warmup_draw(partial)(0.5, 0.25)
    assert "not trained" in fig._suptitle.get_text()
    plt.close("all")


def test_warmup_slider_frames_are_the_pictures_of_full_draws(grid):
    """The warm-up figure's moves blit its declared artists (bars, dots, curve,
    title) over a cached rest that holds the legend; every frame has the pixels of
    the same figure drawn afresh."""
    from vaebook import widgets

    render = widgets.FrameRenderer(lab_plots.warmup_draw(grid))
    for warmup, free_bits in [(0.0, 0.0), (0.5, 0.25), (0.5, 0.0), (0.0, 0.25)]:
        render({"warmup": warmup, "free_bits": free_bits})
        fresh = lab_plots.warmup_draw(grid)(warmup, free_bits)
        fresh.canvas.draw()
        frame = np.asarray(render.frames.canvas.buffer_rgba())
        assert np.array_equal(frame, np.asarray(fresh.canvas.buffer_rgba()))
        legend = render.frames.fig.legends[0]
        assert legend not in render.frames.moving  # not redrawn on a move
    render.close()
    plt.close("all")
