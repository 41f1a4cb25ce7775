"""The annealing lab (vaebook.annealing_lab): free bits and the gradient variance
against hand computations, short runs of both models (the live control's training
function), and the shipped grid against the formulas it claims to follow."""

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from vaebook import annealing_lab as lab
from vaebook.data import BinarizedMNIST

TINY = lab.LabConfig(
    steps=30,
    log_every=10,
    variance_at=(0, 30),
    variance_repeats=2,
    test_images=100,
    num_images=4,
)


@pytest.fixture(scope="module")
def train():
    return BinarizedMNIST.load("train", "dynamic", seed=0, limit=500)


def test_free_bits_value_and_gradient():
    torch.manual_seed(0)
    kl = (torch.rand(8, 5) * torch.tensor([0.01, 0.1, 0.3, 1.0, 2.0])).requires_grad_(
        True
    )
    value = lab.free_bits_kl(kl, 0.25)
    means = kl.detach().mean(0)
    assert value.item() == pytest.approx(
        sum(max(0.25, m) for m in means.tolist()), rel=1e-6
    )
    (grad,) = torch.autograd.grad(value, kl)
    below = means < 0.25  # those dimensions cost 0.25 whatever q does: no gradient
    assert torch.all(grad[:, below] == 0)
    assert torch.allclose(grad[:, ~below], torch.full_like(grad[:, ~below], 1 / 8))
    plain = lab.free_bits_kl(kl, 0.0)
    assert plain.item() == pytest.approx(kl.detach().sum(-1).mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match="free_bits"):
        lab.free_bits_kl(kl, -0.1)


def test_encoder_gradient_variance_against_closed_form():
    """loss = eps w.sum_b x_b, eps ~ N(0, s^2): Var dloss/dw = s^2 ||sum_b x_b||^2."""
    torch.manual_seed(1)
    model = nn.Module()
    model.encoder = nn.Linear(3, 1, bias=False)
    x, s = torch.randn(4, 3), 0.7

    def objective(batch):
        return {"loss": model.encoder(batch).sum() * s * torch.randn(())}

    repeats = 4000
    estimate = lab.encoder_gradient_variance(model, x, objective, repeats)
    exact = s**2 * x.sum(0).pow(2).sum().item()
    # each coordinate's sample variance has relative s.e. sqrt(2 / (R - 1)): allow 5
    assert abs(estimate - exact) < 5 * math.sqrt(2 / (repeats - 1)) * exact


def test_schedule_refused_and_formula():
    with pytest.raises(ValueError, match="never changes"):
        lab.Setting(start=0.5, floor=0.5, rate=2e-3)
    with pytest.raises(ValueError, match="never changes"):
        lab.Setting(start=0.5, floor=1.0, rate=2e-3)
    fixed = lab.Setting(start=0.5, floor=0.5, rate=0.0)  # said so: a fixed temperature
    assert fixed.key == "tau_s0.5_r0" and fixed.schedule()(10_000) == 0.5
    tau = lab.Setting(start=2.0, floor=0.2, rate=2e-3).schedule()
    for t in range(0, 3000, 7):
        assert tau(t) == pytest.approx(max(0.2, 2.0 * math.exp(-2e-3 * t)), rel=1e-12)


def test_grid_has_every_slider_position():
    keys = {s.key for s in lab.grid_settings()}
    fake = {"runs": {k: {"key": k} for k in keys}}
    for start in lab.STARTS:
        for floor in lab.FLOORS:
            for rate in lab.RATES:
                run, note = lab.lookup(fake, start, floor, rate)
                if rate > 0 and floor >= start:
                    assert "refused" in note and run["key"] == f"tau_s{start:g}_r0"
                elif rate == 0:
                    assert run["key"] == f"tau_s{start:g}_r0" and "no annealing" in note
                else:
                    assert (
                        run["key"] == lab.Setting(start, floor, rate).key and not note
                    )
    assert len(keys) == 27 + 6  # 24 annealed + 3 fixed temperatures, 6 beta schedules


def test_discrete_run_short(train):
    """The live control's training function: a few seconds on the CPU."""
    logged = []
    setting = lab.Setting(start=2.0, floor=0.2, rate=2e-2)
    run = lab.discrete_run(
        setting,
        TINY,
        "cpu",
        train,
        callback=lambda r: logged.append(r["curves"]["step"][-1]),
    )
    c = run["curves"]
    assert run["steps"] == 30 and c["step"] == [1, 10, 20, 30] and logged == c["step"]
    for t, tau in zip(
        c["step"], c["temperature"]
    ):  # tau(t) = max(floor, start e^{-r t})
        assert tau == pytest.approx(max(0.2, 2.0 * math.exp(-2e-2 * t)), abs=1e-6)
    assert all(np.isfinite(c[k]).all() for k in ("relaxed", "hard", "kl"))
    assert run["variance"]["step"] == [0, 30] and min(run["variance"]["value"]) > 0
    assert set(run["test"]) >= {"hard_neg_elbo", "relaxed_neg_elbo", "kl"}
    assert run["test"]["temperature"] == pytest.approx(setting.schedule()(30))
    for name in ("recon", "prior"):
        assert (
            run["images"][name].shape == (4, 784)
            and run["images"][name].dtype == np.uint8
        )
    stopped = lab.discrete_run(setting, TINY, "cpu", train, time_limit=1e-9)
    assert stopped["steps"] == 0, "a spent time budget stops training"


def test_gaussian_run_short(train):
    run = lab.gaussian_run(0.5, 0.25, 1, TINY, "cpu", train, bound_samples=(1, 50))
    t = run["test"]
    assert (
        run["curves"]["beta"][-1] == 1.0 and run["curves"]["beta"][0] < 0.1
    )  # warm-up
    assert sum(t["kl_per_dim"]) == pytest.approx(t["kl"], abs=1e-3)
    assert t["active_units"] == sum(a > lab.ACTIVE_THRESHOLD for a in t["activity"])
    assert t["neg_iw_bound"]["50"] <= t["neg_iw_bound"]["1"] + 0.5  # L_50 >= L_1
    assert t["neg_iw_bound"]["1"] == pytest.approx(
        t["neg_elbo"], abs=3.0
    )  # L_1 is the ELBO
    with pytest.raises(ValueError, match="warm-up"):
        lab.gaussian_run(0.5, 0.0, 5, TINY, "cpu", train)


# --- the shipped grid --------------------------------------------------------------


@pytest.fixture(scope="module")
def grid():
    return lab.load_grid()


def test_shipped_grid_is_small_and_complete(grid):
    size = sum(p.stat().st_size for p in lab.FOLDER.iterdir())
    assert size < 1_000_000, (
        f"the shipped lab data should stay well under 1 MB, is {size:,}"
    )
    keys = {s.key for s in lab.grid_settings()}
    assert keys <= set(grid["runs"])
    for w in lab.WARMUPS:
        for fb in lab.FREE_BITS:
            assert lab.gaussian_key(w, fb, 1) in grid["runs"]
    for k in lab.IW_SAMPLES:
        assert lab.gaussian_key(0.0, 0.0, k) in grid["runs"]
    assert grid["config"]["steps"] == 1000 and grid["seconds"] > 0 and grid["command"]


def test_shipped_schedules_follow_the_formula(grid):
    for setting in lab.grid_settings():
        run = grid["runs"][setting.key]
        assert run["steps"] == grid["config"]["steps"]
        if setting.beta_end is not None:
            assert run["curves"]["smoothing_beta"][-1] == pytest.approx(
                setting.beta_end
            )
            continue
        tau = setting.schedule()
        for t, value in zip(run["curves"]["step"], run["curves"]["temperature"]):
            assert value == pytest.approx(tau(t), abs=1e-6)


def test_shipped_gaussian_runs_are_consistent(grid):
    for run in grid["runs"].values():
        if run["kind"] != "gaussian":
            continue
        t = run["test"]
        assert t["active_units"] == sum(a > lab.ACTIVE_THRESHOLD for a in t["activity"])
        assert sum(t["kl_per_dim"]) == pytest.approx(t["kl"], abs=0.01)
        bounds = [t["neg_iw_bound"][s] for s in ("1", "5", "50", "500")]
        assert all(b <= a + 0.2 for a, b in itertools.pairwise(bounds)), bounds


def test_live_control_trains_and_adds_the_run(grid):
    from vaebook.plots import lab as lab_plots

    box = lab_plots.live_control(grid, seconds=20, device="cpu", config=TINY)
    start, floor, rate, button = box.children[:4]
    start.value, floor.value, rate.value = 0.5, 0.5, 5e-3  # never anneals: refused
    button.click()
    assert box.live_runs == []
    start.value, floor.value, rate.value = 1.0, 0.2, 5e-2
    button.click()
    (run,) = box.live_runs
    assert run["steps"] == TINY.steps and run["key"] == "tau_s1_f0.2_r0.05"
    live_lines = box.figure.live
    assert len(live_lines) == 3
    assert list(live_lines[0].get_xdata()) == run["curves"]["step"]
