"""vaebook.plots.style: the figure-size rules and the book's matplotlib settings."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from vaebook.plots import style  # noqa: E402


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


# plots/lab.py is being reworked with the annealing lab (issue 17): its ScheduleFigure
# still says `show` and it keeps its own WIDTH and FONT; drop it from here once it
# follows the protocol
NOT_YET: set[str] = set()


def plot_modules():
    import importlib
    import pkgutil

    import vaebook.plots

    for info in pkgutil.iter_modules(vaebook.plots.__path__):
        if info.name not in NOT_YET:
            yield importlib.import_module(f"vaebook.plots.{info.name}")


def test_one_style_source():
    import inspect
    import re

    for module in plot_modules():
        if module is style:
            continue
        source = inspect.getsource(module)
        for name in ("WIDTH", "FONT", "COLUMN_WIDTH", "MIN_FONT", "SMALL"):
            assert not re.search(rf"^{name} = ", source, re.M), (module, name)
        if "FONT" in vars(module):
            assert module.FONT is style.FONT


def test_every_slider_figure_follows_one_protocol():
    import inspect

    found = []
    for module in plot_modules():
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or cls is style.SliderFigure:
                continue
            if name.endswith(("Figure", "Frame", "Panel")):
                assert issubclass(cls, style.SliderFigure), name
                assert cls.draw is not style.SliderFigure.draw, name
                for other in ("update", "show", "__call__"):
                    assert other not in vars(cls), (name, other)
                found.append(name)
    assert len(found) >= 13, found


def test_the_package_exports_only_the_plotting_api():
    import vaebook.plots as plots

    for name in plots.__all__:
        assert not name.startswith("_") and hasattr(plots, name), name
    for leftover in ("math", "torch", "D", "plt", "column", "_tile", "_ellipse"):
        assert not hasattr(plots, leftover), leftover
