"""The annealing lab (vaebook.experiments.annealing_lab): free bits and the gradient
variance against hand computations, short runs of both models (the live control's
training function), the resumable grid, the verdict rule, and the shipped grid
against the formulas it claims to follow."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from vaebook.data import BinarizedMNIST
from vaebook.experiments import annealing_lab as lab
from vaebook.experiments.comparison import SeedSpread, compare

TINY = lab.LabConfig(
    steps=30,
    gaussian_steps=40,
    log_every=10,
    gaussian_log_every=10,
    variance_at=(0, 30),
    variance_repeats=2,
    test_images=200,
    bound_images=50,
    elbo_samples=2,
    num_images=4,
)


@pytest.fixture(scope="module")
def train():
    return BinarizedMNIST.load("train", "dynamic", seed=0, limit=500)


def test_free_bits_value_and_gradient():
    torch.manual_seed(0)
    scale = torch.tensor([0.01, 0.1, 0.3, 1.0, 2.0])
    kl = (torch.rand(8, 5) * scale).requires_grad_(True)
    value = lab.free_bits_kl(kl, 0.25)
    means = kl.detach().mean(0)
    assert value.item() == pytest.approx(sum(max(0.25, m) for m in means.tolist()))
    (grad,) = torch.autograd.grad(value, kl)
    below = means < 0.25  # those dimensions cost 0.25 whatever q does: no gradient
    assert torch.all(grad[:, below] == 0)
    assert torch.allclose(grad[:, ~below], torch.full_like(grad[:, ~below], 1 / 8))
    plain = lab.free_bits_kl(kl, 0.0)
    assert plain.item() == pytest.approx(kl.detach().sum(-1).mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match="free_bits"):
        lab.free_bits_kl(kl, -0.1)


def test_encoder_gradient_variance_against_closed_form_and_rng_kept():
    """loss = eps w.sum_b x_b, eps ~ N(0, s^2): Var dloss/dw = s^2 ||sum_b x_b||^2;
    measuring leaves the global random state where it was."""
    torch.manual_seed(1)
    model = nn.Module()
    model.encoder = nn.Linear(3, 1, bias=False)
    x, s = torch.randn(4, 3), 0.7

    def objective(batch):
        return {"loss": model.encoder(batch).sum() * s * torch.randn(())}

    repeats = 4000
    before = torch.get_rng_state()
    estimate = lab.encoder_gradient_variance(model, x, objective, repeats)
    assert torch.equal(torch.get_rng_state(), before)
    exact = s**2 * x.sum(0).pow(2).sum().item()
    # each coordinate's sample variance has relative s.e. sqrt(2 / (R - 1)): allow 5
    assert abs(estimate - exact) < 5 * math.sqrt(2 / (repeats - 1)) * exact


def test_mean_se_is_std_over_sqrt_n():
    values = torch.tensor([1.0, 2.0, 3.0, 6.0])
    mean, se = lab.mean_se(values)
    assert mean == pytest.approx(3.0)
    assert se == pytest.approx(np.std([1, 2, 3, 6], ddof=1) / 2)


def test_windows_write_one_row_per_window_and_the_first_step():
    windows = lab.Windows(3, {"a": "x"})
    closed = [windows.add(t, {"x": torch.tensor([float(t)])}) for t in range(1, 8)]
    assert closed == [True, False, True, False, False, True, False]
    assert windows.rows == {"step": [1, 3, 6], "a": [1.0, 2.5, 5.0]}


def test_schedule_refused_and_formula():
    with pytest.raises(ValueError, match="never changes"):
        lab.Setting(start=0.5, floor=0.5, rate=2e-3)
    with pytest.raises(ValueError, match="never changes"):
        lab.Setting(start=0.5, floor=1.0, rate=2e-3)
    with pytest.raises(ValueError, match="smoother"):
        lab.Setting(sharpness_end=5.0, smoother="f4")
    fixed = lab.Setting(start=0.5, floor=0.5, rate=0.0)  # said so: a fixed temperature
    assert fixed.key == "tau_s0.5_r0" and fixed.schedule()(10_000) == 0.5
    tau = lab.Setting(start=2.0, floor=0.2, rate=2e-3).schedule()
    for t in range(0, 3000, 7):
        assert tau(t) == pytest.approx(max(0.2, 2.0 * math.exp(-2e-3 * t)), rel=1e-12)
    f1 = lab.Setting(sharpness_end=5.0, sharpness_start=1.0, smoother="f1")
    assert f1.key == "kappa_f1_s1_e5"
    assert f1.model_config((8,), 2).estimator == "smoothing-f1"


def test_grid_has_every_slider_position_and_each_task_once():
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
                    assert run["key"] == lab.Setting(start, floor, rate).key
    assert len(keys) == 27 + 6  # 24 annealed + 3 fixed temperatures, 3 x 2 kappas
    ids = [lab.task_id(t) for t in lab.grid_tasks()]
    assert len(ids) == len(set(ids))
    for setting in lab.TEACHING.values():  # every verdict's setting has every seed
        assert all(lab.run_id(setting.key, s) in ids for s in lab.SEEDS)


def test_discrete_run_short(train):
    """The live control's training function: a few seconds on the CPU."""
    seen = []
    setting = lab.Setting(start=2.0, floor=0.2, rate=2e-2)
    run = lab.discrete_run(
        setting, TINY, "cpu", train, seed=3, on_window=lambda r: seen.append(r["steps"])
    )
    c = run["curves"]
    assert run["steps"] == 30 and c["step"] == [1, 10, 20, 30] and seen == c["step"]
    for t, tau in zip(c["step"], c["temperature"]):  # tau(t) = max(floor, 2 e^{-r t})
        assert tau == pytest.approx(max(0.2, 2.0 * math.exp(-2e-2 * t)), abs=1e-6)
    assert all(np.isfinite(c[k]).all() for k in ("relaxed", "hard", "kl"))
    assert run["variance"]["step"] == [0, 30] and min(run["variance"]["value"]) > 0
    t = run["test"]
    assert t["images"] == TINY.test_images and run["seed"] == 3 and not run["stopped"]
    assert 0 < t["hard_neg_elbo_se"] < 0.2 * t["hard_neg_elbo"] / math.sqrt(200) * 10
    assert t["temperature"] == pytest.approx(setting.schedule()(30))
    for name in ("recon", "prior"):
        assert run["images"][name].shape == (4, 784)
        assert run["images"][name].dtype == np.uint8
    stopped = lab.discrete_run(setting, TINY, "cpu", train, time_limit=1e-9)
    assert stopped["steps"] == 1 and stopped["stopped"] == "time limit"


def test_discrete_run_is_reproducible_and_seeded(train):
    setting = lab.Setting(start=1.0, floor=0.5, rate=0.0)
    a, b = (lab.discrete_run(setting, TINY, "cpu", train, seed=0) for _ in range(2))
    other = lab.discrete_run(setting, TINY, "cpu", train, seed=1)
    assert a["curves"] == b["curves"] and a["test"] == b["test"]
    assert other["curves"]["hard"] != a["curves"]["hard"]


def test_sharpness_run_follows_its_schedule(train):
    setting = lab.Setting(sharpness_end=5.0, sharpness_start=1.0, smoother="f2")
    run = lab.discrete_run(setting, TINY, "cpu", train)
    kappa = run["curves"]["sharpness"]
    assert kappa[0] < 1.2 and kappa[-1] == pytest.approx(5.0)
    assert all(b >= a for a, b in zip(kappa, kappa[1:]))


def test_gaussian_runs_short(train):
    run = lab.gaussian_run(0.5, 0.25, None, TINY, "cpu", train)
    t, c = run["test"], run["curves"]
    assert run["key"] == "gauss_w0.5_fb0.25" and run["steps"] == TINY.gaussian_steps
    assert c["beta"][-1] == 1.0 and c["beta"][0] < 0.1  # warm-up
    assert len(c["active"]) == len(c["step"]) and max(c["active"]) <= 50
    assert sum(t["kl_per_dim"]) == pytest.approx(t["kl"], abs=1e-3)
    assert t["active_units"] == sum(a > lab.ACTIVE_THRESHOLD for a in t["activity"])
    bounds = t["neg_iw_bound"]
    assert bounds["50"][0] <= bounds["1"][0] + 0.5 and bounds["1"][1] > 0
    # -L_1 is the ELBO with a sampled KL: within noise of the closed-form -ELBO
    assert bounds["1"][0] == pytest.approx(t["neg_elbo"], abs=4 * bounds["1"][1])
    iw = lab.gaussian_run(iw_samples=5, config=TINY, device="cpu", train=train)
    assert iw["key"] == "iw_k5" and iw["steps"] == TINY.steps
    with pytest.raises(ValueError, match="no warm-up"):
        lab.gaussian_run(0.5, 0.0, 5, TINY, "cpu", train)


def test_work_folder_resumes_and_assembles(tmp_path, monkeypatch):
    """A run with a record is never trained again; assemble names what is missing."""
    work = tmp_path / "runs"
    work.mkdir()
    first = lab.grid_tasks()[0]
    name = lab.task_id(first)
    assert lab.claim(work, name) and not lab.claim(work, name)  # locked
    run = {"key": name, "seed": 0, "seconds": 1.0, "test": {}, "curves": {}}
    run["images"] = {"recon": np.zeros((4, 784), np.uint8)}
    lab.save_run(work, run)
    (work / f"{name}.lock").unlink()
    assert not lab.claim(work, name), "a finished run is not trained again"
    monkeypatch.setattr(lab, "test_images", lambda c, d="cpu": torch.zeros(8, 784))
    grid = lab.assemble(work, tmp_path / "out", TINY, "cmd")
    assert list(grid["runs"]) == [name] and name not in grid["missing"]
    assert len(grid["missing"]) == len(lab.grid_tasks()) - 1
    loaded = lab.load_grid(tmp_path / "out")
    assert loaded["images"][f"{name}/recon"].shape == (4, 784)
    assert json.loads((tmp_path / "out" / "grid.json").read_text())["command"] == "cmd"


def test_verdict_uses_the_books_rule():
    def fake(key, seed, value, se):
        return {"key": key, "seed": seed, "test": {"x": value, "x_se": se}}

    runs = [fake("a", s, 100 + s, 0.3) for s in range(3)]
    runs += [fake("b", s, 104 + s, 0.3) for s in range(3)]
    runs += [fake("c", s, 102.5 + s, 0.3) for s in range(3)]
    grid = {"runs": {f"{r['key']}{r['seed']}": r for r in runs}}
    a = lab.spread(grid, "a", "x")
    assert a == SeedSpread((0, 1, 2), (100, 101, 102), (0.3, 0.3, 0.3))
    assert (
        lab.verdict(grid, "a", "b", "x")
        == "lower"
        == compare(a, lab.spread(grid, "b", "x"))
    )
    assert lab.verdict(grid, "a", "c", "x") == "within noise"
    assert lab.verdict(grid, "b", "a", "x") == "higher"
    with pytest.raises(KeyError):
        lab.spread(grid, "d", "x")


# --- the shipped grid --------------------------------------------------------------


@pytest.fixture(scope="module")
def grid():
    return lab.load_grid()


def test_shipped_grid_is_small_and_says_what_is_missing(grid):
    size = sum(p.stat().st_size for p in lab.FOLDER.iterdir())
    assert size < 400_000, f"the shipped lab data should stay under 400 KB, is {size:,}"
    ids = {lab.task_id(t) for t in lab.grid_tasks()}
    assert set(grid["runs"]) | set(grid["missing"]) == ids
    assert not set(grid["runs"]) & set(grid["missing"])
    for setting in lab.TEACHING.values():  # the verdicts' settings came first
        assert setting.key in grid["runs"]
    assert grid["config"] == json.loads(json.dumps(lab.asdict(lab.LabConfig())))


def test_shipped_runs_follow_their_schedules(grid):
    for setting in lab.grid_settings():
        run = grid["runs"].get(setting.key)
        if run is None:
            assert setting.key in grid["missing"]
            continue
        assert run["steps"] == grid["config"]["steps"] and not run["stopped"]
        if setting.sharpness_end is not None:
            assert run["curves"]["sharpness"][-1] == pytest.approx(
                setting.sharpness_end
            )
            continue
        tau = setting.schedule()
        for t, value in zip(run["curves"]["step"], run["curves"]["temperature"]):
            assert value == pytest.approx(tau(t), abs=1e-6)


def test_shipped_numbers_carry_standard_errors(grid):
    n = grid["config"]["test_images"]
    for run in grid["runs"].values():
        t = run["test"]
        assert t["images"] == n
        for name in ("hard_neg_elbo", "neg_elbo"):
            if name in t:  # an SE near std / sqrt(n): a few nats over sqrt(10,000)
                assert 0.01 < t[f"{name}_se"] < 1.0, (run["key"], t[f"{name}_se"])


def test_shipped_gaussian_runs_are_consistent(grid):
    for run in grid["runs"].values():
        if run["kind"] == "discrete":
            continue
        t = run["test"]
        assert t["active_units"] == sum(a > lab.ACTIVE_THRESHOLD for a in t["activity"])
        assert sum(t["kl_per_dim"]) == pytest.approx(t["kl"], abs=0.01)
        bounds = [t["neg_iw_bound"][s][0] for s in ("1", "5", "50", "500")]
        assert all(b <= a + 0.2 for a, b in zip(bounds, bounds[1:])), bounds
