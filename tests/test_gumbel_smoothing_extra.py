"""Additions for the Gumbel-softmax and smoothing chapters: the closed-form means of the
smoothers (against Monte Carlo and their limits) and the chapters' figure helpers."""
import math

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook import smoothing as sm  # noqa: E402
from vaebook.annealing import ExponentialDecay  # noqa: E402
from vaebook.discrete import bias_and_variance  # noqa: E402
from vaebook.discrete_vae import CategoricalVAEConfig  # noqa: E402
from vaebook.plots import gumbel, smoothing as smooth_plots  # noqa: E402

F64 = torch.float64
pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


@pytest.mark.parametrize("name", list(sm.SMOOTHERS))
@pytest.mark.parametrize("beta", [0.7, 3.0, 12.0])
def test_expected_value_matches_monte_carlo(name, beta):
    torch.manual_seed(0)
    p = torch.tensor([0.15, 0.5, 0.85], dtype=F64)
    u = torch.rand(50_000, 1, dtype=F64).clamp(1e-9, 1 - 1e-9)
    zeta = sm.SMOOTHERS[name](beta, p.expand(len(u), 3), u.expand(len(u), 3))
    mean, se = zeta.mean(0), zeta.std(0) / len(u) ** 0.5
    exact = sm.expected_value(name, beta, p)
    assert torch.all((mean - exact).abs() < 5 * se + 1e-12), (mean, exact, se)


def test_expected_value_closed_forms_and_limits():
    p = torch.tensor([0.1, 0.4, 0.9], dtype=F64)
    assert torch.allclose(sm.expected_value("smoothing-f2", 3.0, p), 0.75 * p)
    assert torch.allclose(sm.expected_value("smoothing-f3", 1.0, p), torch.full_like(p, 0.5))  # f3(1, p, u) = u
    # the base of f1 only rescales beta: rate = beta ln a
    assert torch.allclose(sm.expected_value("smoothing-f1", 4.0, p, base=2.0),
                          sm.expected_value("smoothing-f1", 4.0 * math.log(2.0), p))
    assert torch.equal(sm.expected_value("smoothing-f1", 4.0, p), sm.expected_value("dvae-spike-exp", 4.0, p))
    for name in sm.SMOOTHERS:  # every smoother's mean tends to E[z] = p as beta grows
        gaps = [(sm.expected_value(name, b, p) - p).abs().max().item() for b in (2.0, 20.0, 200.0)]
        assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01, (name, gaps)
    with pytest.raises(KeyError, match="unknown smoother"):
        sm.expected_value("smoothing-f4", 2.0, p)


@pytest.fixture(scope="module")
def tiny_categorical():
    torch.manual_seed(0)
    return CategoricalVAEConfig(hidden=(16,), num_latents=4, num_classes=3).build().eval()


def history(epochs=3, **extra):
    rows = []
    for e in range(1, epochs + 1):
        row = {"epoch": e, "beta": min(1.0, e / 2), "test_temperature": max(0.5, 1.0 - 0.2 * e),
               "test_smoothing_beta": 5.0, **extra}
        for split in ("train", "test"):
            row.update({f"{split}_relaxed_neg_elbo": 150.0 / e, f"{split}_hard_neg_elbo": 160.0 / e})
        rows.append(row)
    return rows


def test_gumbel_figures(tiny_categorical):
    torch.manual_seed(1)
    y = torch.softmax(torch.randn(50, 3), -1)
    x = torch.bernoulli(torch.full((4, 784), 0.3))
    stats = [bias_and_variance(torch.randn(20, 2), torch.zeros(2)) for _ in range(2)]
    figures = [gumbel.simplex_samples(y, torch.tensor([0.5, 0.3, 0.2]), 0.5),
               gumbel.bias_variance_vs_temperature([0.5, 1.0], {"a": stats}, {"ref": 1.0}),
               gumbel.temperature_schedules({"r": ExponentialDecay(1.0, 0.5, 1e-3, 10)}, 2000),
               gumbel.relaxed_and_hard_curves(history(), {"paper": 101.5}),
               gumbel.categorical_reconstructions(tiny_categorical, x),
               gumbel.vary_latent(tiny_categorical, x[:2], latent=1)]
    for fig in figures:
        assert fig.axes
    assert len(figures[4].axes) == 3  # input, mode, sample
    plt.close("all")


def test_simplex_projection_puts_one_hot_vectors_at_the_corners():
    assert torch.allclose(gumbel._to_plane(torch.eye(3)), gumbel.CORNERS.double())
    assert torch.allclose(gumbel._to_plane(torch.full((1, 3), 1 / 3)), gumbel.CORNERS.double().mean(0, keepdim=True))


def test_smoothing_figures():
    histories = {"bin_f1": history(), "bin_f2_anneal": history(2), "bin_f2_anneal_long": history(4)}
    figures = [smooth_plots.figure_one((2.0, 5.0, 20.0)), smooth_plots.smoothers_at(5.0, 0.3),
               smooth_plots.published_inverse_cdfs({name: 5.0 for name in smooth_plots.PUBLISHED}),
               smooth_plots.smoother_curves(histories, reference=105.0)]
    assert len(figures[0].axes) == 9
    lines = figures[3].axes[0].get_lines()
    # one colour per smoother: the two f2 models share theirs, f1 has another
    assert lines[1].get_color() == lines[2].get_color() != lines[0].get_color()
    plt.close("all")
