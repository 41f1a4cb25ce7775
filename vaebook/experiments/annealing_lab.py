"""The annealing lab: what a schedule does to training, measured on small models.

Three experiments on binarized MNIST (dynamic binarization), each a grid of short runs:

- **Temperature schedules** of a binary VAE trained with the binary Gumbel-softmax
  (Jang et al. 2017): tau(t) = max(floor, start * exp(-rate * t)), t the step. Every
  run records tau(t), the relaxed and the hard (exact discrete sample) training -ELBO,
  the variance of the encoder's gradient at a few steps, and at the end the test
  -ELBOs with their standard errors, reconstructions and decoded prior samples. The
  live "train with these settings" control (:mod:`.lab_control`) trains the same run.
- **Sharpness schedules** (kappa, code ``sharpness``) of the same model trained with
  the smoothers f1, f2 and f3 (notes 2.3): kappa fixed, or moved geometrically from 1.
- **KL warm-up and free bits** for a Gaussian VAE (Sonderby et al. 2016; Kingma et al.
  2016), long enough for dimensions to collapse, with the active units (Burda et al.
  2016) recorded along training; and the **importance-weighted objective** L_K.

Every run trains through :func:`vaebook.training.fit`. Settings that a verdict of the
chapter compares are trained with several seeds (:data:`SEEDS`); every test number
carries its standard error over the test images.

``python -m vaebook.experiments.annealing_lab --out DIR`` trains what is missing in
``DIR/runs`` (one JSON per run, written atomically, so an interrupted grid resumes) and
assembles ``grid.json`` (histories, numbers, commands, times) and ``images.npz``
(uint8 images). Weights are not kept. Shapes: B batch, D = 784, K latents.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..annealing import ExponentialDecay
from ..data import BinarizedMNIST
from ..discrete_vae import BinaryVAEConfig
from ..evaluation import active_units
from ..models import VAEConfig
from ..objectives import elbo, iw_bound
from ..runs import ACTIVE_THRESHOLD  # Burda et al.: Cov_x(E_q[z_k|x]) > 0.01
from ..training import TrainConfig, TrainState, fit, resolve_device
from .comparison import SeedSpread, compare

FOLDER = Path(__file__).resolve().parent.parent / "pretrained" / "lab"


@dataclass
class LabConfig:
    """The size of every lab run (saved with the grid)."""

    steps: int = 1000  # discrete runs and the IW runs
    gaussian_steps: int = 4000  # warm-up / free-bits runs: long enough to collapse
    batch_size: int = 100
    lr: float = 1e-3
    hidden: tuple[int, ...] = (200,)
    binary_latents: int = 32  # Bernoulli latents of the discrete runs
    gaussian_latents: int = 50  # as the MNIST chapter's VAE
    log_every: int = 25  # training curves: means over windows of this many steps
    gaussian_log_every: int = 200
    variance_at: tuple[int, ...] = (0, 50, 125, 250, 500, 1000)  # clipped to steps
    variance_repeats: int = 12  # gradient draws on one batch per variance estimate
    test_images: int = 10_000  # test images (binarized once, seed 0) for -ELBOs
    bound_images: int = 1000  # the first of them, for -L_S with S up to 500
    elbo_samples: int = 10  # z per test image for a Gaussian -ELBO (closed-form KL)
    num_images: int = 8  # reconstructions and prior samples kept per run
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.steps, self.gaussian_steps, self.log_every) < 1:
            raise ValueError("steps and log_every must be >= 1")
        if self.variance_repeats < 2:
            raise ValueError(
                f"variance_repeats must be >= 2, got {self.variance_repeats}"
            )


SMOOTHERS = ("f1", "f2", "f3")


@dataclass(frozen=True)
class Setting:
    """One run of the discrete grid: a temperature or a sharpness schedule.

    ``rate = 0`` is a fixed temperature ``start`` (``floor`` unused). A schedule with
    ``rate > 0`` and ``floor >= start`` never anneals and is refused (ValueError).
    ``sharpness_end`` set: the smoother ``smoother`` with kappa fixed at it
    (``sharpness_start`` None) or moved geometrically from ``sharpness_start`` over
    the first 70 % of the steps.
    """

    start: float = 1.0
    floor: float = 0.5
    rate: float = 0.0
    sharpness_end: float | None = None
    sharpness_start: float | None = None
    smoother: str = "f3"

    def __post_init__(self) -> None:
        if self.smoother not in SMOOTHERS:
            raise ValueError(
                f"smoother must be one of {SMOOTHERS}, got {self.smoother}"
            )
        self.model_config((200,), 2)  # raises on a schedule that cannot anneal

    @property
    def key(self) -> str:
        if self.sharpness_end is not None:
            s = self.sharpness_start
            start = "fixed" if s is None else f"s{s:g}"
            return f"kappa_{self.smoother}_{start}_e{self.sharpness_end:g}"
        if self.rate == 0:
            return f"tau_s{self.start:g}_r0"
        return f"tau_s{self.start:g}_f{self.floor:g}_r{self.rate:g}"

    def model_config(self, hidden, latent_dim) -> BinaryVAEConfig:
        base = {"hidden": tuple(hidden), "latent_dim": latent_dim}
        if self.sharpness_end is not None:
            how = "none" if self.sharpness_start is None else "geometric"
            return BinaryVAEConfig(
                **base,
                estimator=f"smoothing-{self.smoother}",
                sharpness=self.sharpness_end,
                sharpness_start=self.sharpness_start,
                sharpness_anneal=how,
                sharpness_anneal_fraction=0.7,
            )
        floor = self.floor if self.rate > 0 else min(self.floor, self.start)
        return BinaryVAEConfig(
            **base,
            estimator="gumbel-softmax",
            temperature=self.start,
            temperature_min=floor,
            anneal_rate=self.rate,
            anneal_every=1,
        )

    def schedule(self) -> ExponentialDecay:
        return ExponentialDecay(
            self.start, min(self.floor, self.start), self.rate, every=1
        )


# --- pieces ----------------------------------------------------------------------


def free_bits_kl(kl_per_dim: torch.Tensor, free_bits: float) -> torch.Tensor:
    """sum_k max(free_bits, mean_B KL_k): the KL with free bits (Kingma et al. 2016).

    ``kl_per_dim`` (B, K) nats. A dimension whose batch-mean KL is below ``free_bits``
    costs ``free_bits`` and gets no gradient, so the encoder may use it for free;
    ``free_bits = 0`` gives the batch mean of the plain KL. Returns a scalar.
    """
    if free_bits < 0:
        raise ValueError(
            f"free_bits is a KL allowance in nats per dimension, >= 0, got {free_bits}"
        )
    return kl_per_dim.mean(0).clamp(min=free_bits).sum()


def encoder_gradient_variance(
    model, x: torch.Tensor, objective: Callable, repeats: int
) -> float:
    """Variance of the encoder's gradient of ``objective(x)["loss"]`` over the noise.

    ``repeats`` gradients on the same batch x, each with fresh noise; returns the
    trace of their covariance (sum over encoder weights of the unbiased variance).
    The global random state is restored afterwards, so measuring does not change
    the run being measured.
    """
    params = list(model.encoder.parameters())
    grads = []
    with torch.random.fork_rng(devices=[]):
        for _ in range(repeats):
            loss = objective(x)["loss"]
            grads.append(
                torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])
            )
    return float(torch.stack(grads).var(0).sum())


def mean_se(values: torch.Tensor) -> tuple[float, float]:
    """The mean of per-example values (N,) and its standard error std / sqrt(N)."""
    values = values.double()
    return float(values.mean()), float(values.std() / math.sqrt(len(values)))


def _uint8(images: torch.Tensor) -> np.ndarray:
    """Pixel probabilities as uint8 in 16 grey levels (0, 17, ..., 255): compact."""
    levels = (images.detach().cpu().clamp(0, 1) * 15).round()
    return (levels * 17).to(torch.uint8).numpy()


def test_images(config: LabConfig, device="cpu") -> torch.Tensor:
    """The lab's test images: the first ``config.test_images`` MNIST test images,
    binarized once (seed 0), (N, 784)."""
    return BinarizedMNIST.load(
        "test", "dynamic", 0, device, limit=config.test_images
    ).fixed()


class Windows:
    """Means of per-step metrics over windows of ``every`` steps: one device sync a
    window, none per step. ``rows`` holds one list per metric (and ``step``)."""

    def __init__(self, every: int, names: dict[str, str]):
        self.every, self.names = every, names  # names: record name -> metric key
        self.sums: dict = {}
        self.count = 0
        self.rows: dict[str, list] = {"step": [], **{n: [] for n in names}}

    def add(self, step: int, out: dict[str, torch.Tensor]) -> bool:
        """Add one step's metrics; True when a window closed (a row was written)."""
        for name, key in self.names.items():
            self.sums[name] = self.sums.get(name, 0) + out[key].detach().mean()
        self.count += 1
        if step % self.every and step > 1:
            return False
        values = torch.stack([self.sums[n] for n in self.names]).tolist()  # one sync
        self.rows["step"].append(step)
        for name, value in zip(self.names, values):
            self.rows[name].append(round(value / self.count, 4))
        self.sums, self.count = {}, 0
        return True


# --- training: every run goes through one loop ---------------------------------------


def _train_config(
    config: LabConfig, steps: int, seed: int, device, warmup: float = 0.0
) -> TrainConfig:
    """The :func:`vaebook.training.fit` config of a lab run: ``steps`` optimizer
    steps (``epochs`` only bounds them), Adam, dynamic binarization, ``seed``."""
    return TrainConfig(
        epochs=steps,
        max_steps=steps,
        batch_size=config.batch_size,
        lr=config.lr,
        beta_warmup=warmup,
        seed=seed,
        device=str(device),
    )


def _fit(model, config: TrainConfig, train, objective, callback) -> TrainState:
    """Train through :func:`vaebook.training.fit` (no test pass, no progress bar:
    the lab records its own windows in ``callback``); returns the final state."""
    final = {}

    def record(state, out):
        final["state"] = state
        return callback(state, out)

    fit(model, config, train, False, objective, callback=record, progress=False)
    return final["state"]


def _data(config: LabConfig, device, seed: int, train, test):
    """The training split (MNIST, dynamic binarization from ``seed``, unless given)
    and the test images, on ``device``."""
    if train is None:
        train = BinarizedMNIST.load("train", "dynamic", seed)
    test = test_images(config, device) if test is None else test.to(device)
    return train.to(device), test


def model_objective(model, x: torch.Tensor, state: TrainState) -> dict:
    return model.objective(x, state)


# --- the discrete runs --------------------------------------------------------------

DISCRETE_CURVES = {"relaxed": "relaxed_neg_elbo", "hard": "hard_neg_elbo", "kl": "kl"}


class DiscreteRecorder:
    """The callback of a discrete run: window means of the training -ELBOs and the
    schedules, the encoder's gradient variance at ``config.variance_at``, and a stop
    after ``time_limit`` seconds or when ``stop()`` says so. ``on_window(run)`` is
    called whenever a window closes (the live control redraws there)."""

    def __init__(
        self, model, config, x_var, time_limit=None, on_window=None, stop=None
    ):
        self.model, self.x_var, self.repeats = model, x_var, config.variance_repeats
        self.windows = Windows(config.log_every, DISCRETE_CURVES)
        self.windows.rows.update(temperature=[], sharpness=[])  # at the window's step
        self.variance_at = sorted({min(s, config.steps) for s in config.variance_at})
        self.variance = {"step": [], "value": []}
        self.time_limit, self.on_window, self.stop = time_limit, on_window, stop
        self.started, self.steps, self.stopped = time.perf_counter(), 0, ""

    def measure(self, state: TrainState) -> None:
        value = encoder_gradient_variance(
            self.model,
            self.x_var,
            lambda b: self.model.objective(b, state),
            self.repeats,
        )
        self.variance["step"].append(state.step)
        self.variance["value"].append(value)

    def __call__(self, state: TrainState, out: dict) -> bool:
        self.steps = state.step
        if self.windows.add(state.step, out):
            params = self.model.hyperparameters(state)
            self.windows.rows["temperature"].append(round(params["temperature"], 6))
            self.windows.rows["sharpness"].append(round(params.get("sharpness", 0), 6))
            if self.on_window is not None:
                self.on_window(self.run())
        if state.step in self.variance_at:
            self.measure(state)
        if self.time_limit and time.perf_counter() - self.started > self.time_limit:
            self.stopped = "time limit"
        elif self.stop is not None and self.stop():
            self.stopped = "stopped"
        return bool(self.stopped)

    def run(self) -> dict:
        return {
            "curves": self.windows.rows,
            "variance": self.variance,
            "steps": self.steps,
        }


def discrete_run(
    setting: Setting,
    config: LabConfig | None = None,
    device="auto",
    train: BinarizedMNIST | None = None,
    seed: int = 0,
    test: torch.Tensor | None = None,
    time_limit: float | None = None,
    on_window: Callable | None = None,
    stop: Callable | None = None,
) -> dict:
    """Train the lab's binary VAE under ``setting`` for ``config.steps`` steps.

    Stops early after ``time_limit`` seconds or when ``stop()`` is true (the schedule
    follows the step). Returns the run: setting, seed, ``curves`` (window means:
    ``step``, ``temperature``, ``sharpness``, ``relaxed``, ``hard``, ``kl``, nats),
    ``variance`` (step -> encoder gradient variance), ``test`` (means and standard
    errors over the test images), ``images`` (uint8), ``seconds``, ``stopped``.
    """
    config = config or LabConfig()
    device = resolve_device(device)
    torch.manual_seed(seed)
    model = setting.model_config(config.hidden, config.binary_latents).build()
    model = model.to(device).train()
    train, test = _data(config, device, seed, train, test)
    recorder = DiscreteRecorder(
        model, config, test[: config.batch_size], time_limit, on_window, stop
    )
    cfg = _train_config(config, config.steps, seed, device)
    recorder.measure(TrainState(cfg, total_steps=config.steps))  # step 0
    state = _fit(model, cfg, train, model_objective, recorder)
    run = {"setting": asdict(setting), "key": setting.key, "seed": seed}
    run.update(kind="discrete", **recorder.run(), stopped=recorder.stopped)
    run["seconds"] = round(time.perf_counter() - recorder.started, 2)
    run["test"], run["images"] = discrete_results(model, test, state, config, seed)
    return run


@torch.no_grad()
def discrete_results(model, test: torch.Tensor, state: TrainState, config, seed: int):
    """Test -ELBOs (hard: exact discrete z; relaxed: the estimator's z; one sample per
    image, closed-form KL) with their SEs, and a few images."""
    model.eval()
    torch.manual_seed(seed + 1)
    out = model.objective(test, state)
    numbers = {"images": len(test)}
    for name in ("hard_neg_elbo", "relaxed_neg_elbo", "kl"):
        numbers[name], numbers[f"{name}_se"] = (round(v, 4) for v in mean_se(out[name]))
    params = model.hyperparameters(state)
    numbers["temperature"] = params["temperature"]
    numbers["sharpness"] = params.get("sharpness", 0.0)
    x = test[: config.num_images]
    recon = model.decode(model.encode(x).sample()).mean
    images = {"recon": _uint8(recon), "prior": _uint8(model.sample(config.num_images))}
    return numbers, images


# --- the Gaussian runs ----------------------------------------------------------------


def gaussian_objective(free_bits: float = 0.0, iw_samples: int = 1) -> Callable:
    """objective(model, x, state) for :func:`vaebook.training.fit`: -E_q log p(x|z)
    + beta(t) * free-bits KL, or with ``iw_samples = K > 1`` the bound -L_K."""

    def objective(model, x: torch.Tensor, state: TrainState) -> dict:
        if iw_samples > 1:
            bound = iw_bound(model, x, iw_samples)  # (B,)
            zero = torch.zeros_like(bound)
            return {"loss": -bound.mean(), "neg_elbo": -bound.detach(), "kl": zero}
        qz = model.encode(x)
        log_px = model.decode(qz.rsample()).log_prob(x)  # (B,)
        kl_dims = torch.distributions.kl_divergence(
            qz.base_dist, model.prior().base_dist
        )  # (B, K)
        loss = -log_px.mean() + state.beta * free_bits_kl(kl_dims, free_bits)
        kl = kl_dims.sum(-1).detach()
        return {"loss": loss, "neg_elbo": kl - log_px.detach(), "kl": kl}

    return objective


class GaussianRecorder:
    """The callback of a Gaussian run: window means of the training -ELBO (or -L_K)
    and KL, the KL weight, and at every window the active units and the dimensions
    with KL > 0.01 nats on ``x_units`` (test images): collapse as it happens."""

    def __init__(self, model, every: int, x_units: torch.Tensor):
        self.model, self.x_units = model, x_units
        self.windows = Windows(every, {"neg_elbo": "neg_elbo", "kl": "kl"})
        for name in ("beta", "active", "kl_dims"):
            self.windows.rows[name] = []

    @torch.no_grad()
    def __call__(self, state: TrainState, out: dict) -> bool:
        if self.windows.add(state.step, out):
            rows = self.windows.rows
            rows["beta"].append(round(state.beta, 4))
            rows["active"].append(active_units(self.model, self.x_units)[0])
            kl = self.model.kl_per_dimension(self.x_units).mean(0)
            rows["kl_dims"].append(int((kl > ACTIVE_THRESHOLD).sum()))
        return False


def gaussian_key(warmup: float, free_bits: float) -> str:
    return f"gauss_w{warmup:g}_fb{free_bits:g}"


def iw_key(iw_samples: int) -> str:
    return f"iw_k{iw_samples}"


def gaussian_run(
    warmup: float = 0.0,
    free_bits: float = 0.0,
    iw_samples: int | None = None,
    config: LabConfig | None = None,
    device="auto",
    train: BinarizedMNIST | None = None,
    seed: int = 0,
    test: torch.Tensor | None = None,
    bound_samples=(1, 5, 50, 500),
) -> dict:
    """Train the lab's Gaussian VAE (784-hidden-50, tanh).

    ``iw_samples`` None: ``config.gaussian_steps`` steps of -E_q log p(x|z) +
    beta(t) free-bits KL, beta from 0 to 1 over the first ``warmup`` of the steps
    (:func:`gaussian_key`). ``iw_samples = K``: ``config.steps`` steps of -L_K, no
    warm-up or free bits (:func:`iw_key`); the curve ``neg_elbo`` is then -L_K."""
    iw = iw_samples is not None
    if iw and (iw_samples < 1 or warmup or free_bits):
        raise ValueError(f"an IW run (K={iw_samples}) has no warm-up or free bits")
    config = config or LabConfig()
    device = resolve_device(device)
    torch.manual_seed(seed)
    model = VAEConfig(hidden=tuple(config.hidden), latent_dim=config.gaussian_latents)
    model = model.build().to(device).train()
    train, test = _data(config, device, seed, train, test)
    steps = config.steps if iw else config.gaussian_steps
    every = config.log_every if iw else config.gaussian_log_every
    recorder = GaussianRecorder(model, every, test[: config.bound_images])
    cfg = _train_config(config, steps, seed, device, warmup)
    started = time.perf_counter()
    objective = gaussian_objective(free_bits, iw_samples or 1)
    state = _fit(model, cfg, train, objective, recorder)
    key = iw_key(iw_samples) if iw else gaussian_key(warmup, free_bits)
    run = {"key": key, "seed": seed, "kind": "iw" if iw else "gaussian"}
    run.update(warmup=warmup, free_bits=free_bits, iw_samples=iw_samples or 1)
    run.update(curves=recorder.windows.rows, steps=state.step)
    run.update(seconds=round(time.perf_counter() - started, 2))
    return run | {"test": gaussian_results(model, test, bound_samples, config, seed)}


@torch.no_grad()
def gaussian_results(model, test: torch.Tensor, bound_samples, config, seed: int):
    """On the test images: the -ELBO (closed-form KL, ``config.elbo_samples`` z per
    image) and its SE, KL per dimension, activities, active units; -L_S and its SE
    on the first ``config.bound_images`` for each S in ``bound_samples``."""
    model.eval()
    torch.manual_seed(seed + 1)
    neg = torch.cat(
        [-elbo(model, x, config.elbo_samples).elbo for x in test.split(1000)]
    )
    kl_dims = model.kl_per_dimension(test).mean(0)  # (K,) nats
    count, activity = active_units(model, test, ACTIVE_THRESHOLD)
    numbers = {"images": len(test), "bound_images": config.bound_images}
    numbers["neg_elbo"], numbers["neg_elbo_se"] = (round(v, 4) for v in mean_se(neg))
    numbers["kl"] = round(float(kl_dims.sum()), 4)
    numbers["kl_per_dim"] = [round(float(v), 5) for v in kl_dims]
    numbers["activity"] = [round(float(v), 5) for v in activity]
    numbers["active_units"] = count
    x = test[: config.bound_images]
    bounds = {}
    for s in bound_samples:
        value, se = mean_se(-iw_bound(model, x, s, chunk_size=50))
        bounds[str(s)] = [round(value, 4), round(se, 4)]
    numbers["neg_iw_bound"] = bounds
    return numbers


# --- the grid -------------------------------------------------------------------------

STARTS = (0.5, 1.0, 2.0)
FLOORS = (0.05, 0.2, 0.5)
RATES = (0.0, 5e-4, 5e-3, 5e-2)  # fixed, too slow, in between, too fast (1,000 steps)
SHARPNESS_ENDS = (5.0,)
SHARPNESS_STARTS = (None, 1.0)
WARMUPS = (0.0, 0.5)  # fractions of the 4,000 steps
FREE_BITS = (0.0, 0.25)
IW_SAMPLES = (1, 5, 20)
SEEDS = (0, 1, 2)

# the settings the chapter's verdicts compare: trained with every seed of SEEDS
TEACHING = {
    "no annealing (tau = 2)": Setting(2.0, 0.5, 0.0),
    "fixed tau = 1": Setting(1.0, 0.5, 0.0),
    "fixed tau = 0.5": Setting(0.5, 0.5, 0.0),
    "in between (r = 5e-3)": Setting(2.0, 0.2, 5e-3),
    "too fast (r = 5e-2)": Setting(2.0, 0.2, 5e-2),
    "floor too low (0.05)": Setting(2.0, 0.05, 5e-3),
    "2 -> 0.5 (r = 5e-3)": Setting(2.0, 0.5, 5e-3),
}
GAUSSIAN_VERDICT = ((0.0, 0.0), (0.5, 0.0), (0.0, 0.25))  # (warm-up, free bits)


def grid_settings() -> list[Setting]:
    """Every discrete run of the grid (a schedule that cannot anneal is not one)."""
    runs = {}
    for start in STARTS:
        for floor in FLOORS:
            for rate in RATES:
                if rate == 0 or floor < start:
                    setting = Setting(start, floor if rate else 0.5, rate)
                    runs[setting.key] = setting
    for smoother in SMOOTHERS:
        for end in SHARPNESS_ENDS:
            for begin in SHARPNESS_STARTS:
                setting = Setting(
                    sharpness_end=end, sharpness_start=begin, smoother=smoother
                )
                runs[setting.key] = setting
    return list(runs.values())


def lookup(grid: dict, start: float, floor: float, rate: float) -> tuple[dict, str]:
    """The shipped run for a slider position, and a note: a schedule with rate > 0 and
    floor >= start is refused by :class:`ExponentialDecay`; the note then says so and
    the run shown is the constant temperature it would train with (rate 0). A run
    the grid lacks (``grid["missing"]``) is said so, and the fixed one shown."""
    runs = grid["runs"]
    fixed = runs[Setting(start, 0.5, 0.0).key]
    if rate == 0:
        return fixed, f"no annealing: tau = {start:g} throughout"
    try:
        key = Setting(start, floor, rate).key
    except ValueError as err:
        return fixed, f"refused ({str(err).split(':')[0]})"
    if key not in runs:
        return fixed, "not trained in this grid (see its 'missing'): tau fixed shown"
    return runs[key], ""


def run_id(key: str, seed: int) -> str:
    """The name of one run in the grid: its setting's key, and the seed unless 0."""
    return key if seed == 0 else f"{key}_seed{seed}"


def grid_tasks() -> list[tuple[str, object, int]]:
    """Every run of the lab as (kind, args, seed), most needed first (a busy machine
    may finish only the first ones): the temperature settings that the verdicts
    compare (every seed), the Gaussian warm-up runs, f1 and f2 (every seed), the IW
    runs, the other temperature schedules (the sliders), f3, and the extra seeds
    of the Gaussian runs, the other temperature schedules and the IW runs."""
    tau = [s for s in grid_settings() if s.sharpness_end is None]
    sharp = [s for s in grid_settings() if s.sharpness_end is not None]
    taught = list(TEACHING.values())
    gauss = [(w, fb) for fb in FREE_BITS for w in WARMUPS]
    tasks = [("discrete", s, seed) for seed in SEEDS for s in taught]
    tasks += [("gaussian", g, 0) for g in gauss]
    tasks += [
        ("discrete", s, seed) for seed in SEEDS for s in sharp if s.smoother != "f3"
    ]
    tasks += [("iw", k, 0) for k in IW_SAMPLES]
    tasks += [("discrete", s, 0) for s in tau if s not in taught]
    tasks += [
        ("discrete", s, seed) for seed in SEEDS for s in sharp if s.smoother == "f3"
    ]
    tasks += [("gaussian", g, seed) for seed in SEEDS[1:] for g in GAUSSIAN_VERDICT]
    tasks += [("discrete", s, e) for e in SEEDS[1:] for s in tau if s not in taught]
    tasks += [("iw", k, s) for k in (1, IW_SAMPLES[-1]) for s in SEEDS[1:]]
    return tasks


def task_id(task: tuple) -> str:
    kind, args, seed = task
    if kind == "discrete":
        return run_id(args.key, seed)
    return run_id(iw_key(args) if kind == "iw" else gaussian_key(*args), seed)


def run_task(task: tuple, config: LabConfig, device, data: dict) -> dict:
    """Train one task; ``data`` caches the training split per seed and the test set."""
    kind, args, seed = task
    if seed not in data:
        data.pop(next((k for k in data if k != "test"), None), None)  # one split
        data[seed] = BinarizedMNIST.load("train", "dynamic", seed, device)
    common = {"config": config, "device": device, "train": data[seed], "seed": seed}
    if "test" not in data:
        data["test"] = test_images(config, device)
    common["test"] = data["test"]
    if kind == "discrete":
        return discrete_run(args, **common)
    if kind == "iw":
        return gaussian_run(iw_samples=args, **common)
    return gaussian_run(*args, **common)


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` then rename: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_run(work: Path, run: dict) -> None:
    """One finished run as ``work/<id>.json`` (+ ``.npz`` images, seed 0 only)."""
    name = run_id(run["key"], run["seed"])
    images = run.pop("images", {})
    if run["seed"] == 0 and images:
        write_atomically(
            work / f"{name}.npz", lambda p: np.savez_compressed(open(p, "wb"), **images)
        )
    if run["seed"] != 0:
        run.pop("curves", None)  # the extra seeds serve the verdicts: numbers only
    write_atomically(work / f"{name}.json", lambda p: p.write_text(json.dumps(run)))


def claim(work: Path, name: str) -> bool:
    """Whether this process should train ``name``: no record, and no other worker
    holds its lock (a lock file created atomically; a crash leaves one to delete)."""
    if (work / f"{name}.json").is_file():
        return False
    try:
        os.close(os.open(work / f"{name}.lock", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def train_missing(
    work: Path, config: LabConfig, device="auto", log=print, only: str = ""
) -> None:
    """Train every task of :func:`grid_tasks` without a record in ``work`` (``only``:
    comma-separated prefixes of the run names to take, e.g. ``gauss_,iw_k1``)."""
    work.mkdir(parents=True, exist_ok=True)
    device = str(resolve_device(device))
    tasks = grid_tasks()
    if only:
        tasks = [t for t in tasks if task_id(t).startswith(tuple(only.split(",")))]
    data: dict = {}
    for i, task in enumerate(tasks):
        if not claim(work, task_id(task)):
            continue
        run = run_task(task, config, device, data)
        save_run(work, run)
        (work / f"{task_id(task)}.lock").unlink()
        t = run["test"]
        what = t.get("hard_neg_elbo", t.get("neg_elbo"))
        seconds = run["seconds"]
        log(f"[{i + 1}/{len(tasks)}] {task_id(task)}: {what:.2f}, {seconds:.0f} s")


def assemble(work: Path, out: Path, config: LabConfig, command: str) -> dict:
    """Collect the records of ``work`` into ``out/grid.json`` and ``out/images.npz``;
    the grid names every task that has no record yet (``missing``)."""
    runs, images = {}, {}
    for task in grid_tasks():
        name = task_id(task)
        if (work / f"{name}.json").is_file():
            runs[name] = json.loads((work / f"{name}.json").read_text())
        if (work / f"{name}.npz").is_file():
            with np.load(work / f"{name}.npz") as arrays:
                images.update({f"{name}/{k}": arrays[k] for k in arrays.files})
    images["originals"] = _uint8(test_images(config)[: config.num_images])
    grid = {
        "config": asdict(config),
        "runs": runs,
        "missing": [task_id(t) for t in grid_tasks() if task_id(t) not in runs],
        "command": command,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "seconds": round(sum(r["seconds"] for r in runs.values()), 1),
        "data": "MNIST train (60,000 images), dynamic binarization; test numbers on "
        f"the first {config.test_images:,} test images binarized once (seed 0)",
    }
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(grid, separators=(",", ":"))
    write_atomically(out / "grid.json", lambda p: p.write_text(text))
    write_atomically(
        out / "images.npz", lambda p: np.savez_compressed(open(p, "wb"), **images)
    )
    return grid


def spread(grid: dict, key: str, value: str | Callable = "hard_neg_elbo") -> SeedSpread:
    """One setting's test number over its seeds, with each seed's standard error.

    ``value``: a name in the runs' ``test`` (its SE is ``<name>_se``, 0 if none), or
    ``value(test) -> (number, se)``. Rank two spreads with
    :func:`vaebook.experiments.comparison.compare` (the book's one rule)."""
    runs = sorted(
        (r for r in grid["runs"].values() if r["key"] == key), key=lambda r: r["seed"]
    )
    if not runs:
        raise KeyError(f"no run of {key!r} in the grid")
    if callable(value):
        pairs = [value(r["test"]) for r in runs]
    else:
        pairs = [(r["test"][value], r["test"].get(f"{value}_se", 0.0)) for r in runs]
    seeds = tuple(r["seed"] for r in runs)
    return SeedSpread(seeds, tuple(v for v, _ in pairs), tuple(e for _, e in pairs))


def verdict(grid: dict, a: str, b: str, value: str | Callable = "hard_neg_elbo") -> str:
    """Where setting ``a`` stands against ``b`` by the book's rule: "lower",
    "higher" or "within noise" (:func:`vaebook.experiments.comparison.compare`)."""
    return compare(spread(grid, a, value), spread(grid, b, value))


def seeds_table(grid: dict, settings: dict[str, str], value="hard_neg_elbo"):
    """One row per named setting (label -> key): ``seeds``, the ``mean`` over them,
    the seeds' ``range`` (text) and the largest evaluation ``SE``; and, against the
    first row, the ``difference`` of the means and the book's verdict (``vs first``:
    "lower", "higher" or "within noise", :func:`verdict`)."""
    import pandas as pd

    first = next(iter(settings.values()))
    rows = {}
    for label, key in settings.items():
        s = spread(grid, key, value)
        rows[label] = {
            "seeds": len(s.values),
            "mean": s.mean,
            "range": f"{s.lo:.2f}-{s.hi:.2f}",
            "SE": s.se,
            "difference": s.mean - spread(grid, first, value).mean,
            "vs first": "" if key == first else verdict(grid, key, first, value),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def load_grid(folder: str | Path = FOLDER) -> dict:
    """The shipped grid: ``grid.json`` plus ``images`` (name -> uint8 (N, 784))."""
    folder = Path(folder)
    if not (folder / "grid.json").is_file():
        raise FileNotFoundError(
            f"no annealing-lab grid in {folder}; "
            "bash scripts/train_annealing_lab.sh trains it"
        )
    grid = json.loads((folder / "grid.json").read_text())
    with np.load(folder / "images.npz") as data:
        grid["images"] = {name: data[name] for name in data.files}
    return grid


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=FOLDER)
    parser.add_argument("--work", type=Path, default=Path("build/annealing_lab"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--assemble-only", action="store_true")
    parser.add_argument("--train-only", action="store_true")
    parser.add_argument("--only", default="", help="run-name prefixes, comma-separated")
    parser.add_argument(
        "--command", default="python -m vaebook.experiments.annealing_lab"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = LabConfig()
    if not args.assemble_only:
        log = lambda m: print(m, flush=True)  # noqa: E731
        train_missing(args.work, config, args.device, log, args.only)
    if args.train_only:
        return
    grid = assemble(args.work, args.out, config, args.command)
    print(f"{len(grid['runs'])} runs, {len(grid['missing'])} missing -> {args.out}")


if __name__ == "__main__":
    main()
