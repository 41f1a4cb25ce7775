"""The annealing lab: what a schedule does to training, measured on small models.

Three experiments, each a grid of short runs on binarized MNIST (dynamic binarization):

- **Temperature schedules** of a binary VAE trained with the binary Gumbel-softmax
  (Jang et al. 2016): tau(t) = max(floor, start * exp(-rate * t)), t the step.
  Every run records tau(t), the relaxed and the hard (exact discrete sample) training
  -ELBO, the variance of the encoder's gradient at a few steps, and at the end the
  test -ELBOs, reconstructions and decoded prior samples. The same loop, with a time
  budget and a callback, is the live "train with these settings" run.
- **Smoothing-beta schedules** of the same model trained with the smoother f3
  (notes 2.3): beta fixed, or moved geometrically from 1 to its end.
- **KL warm-up and free bits** for a Gaussian VAE (Sonderby et al. 2016; Kingma et al.
  2016), against the active units (Burda et al. 2016) and the KL per dimension, and the
  **importance-weighted objective** L_K (Burda et al. 2016) for several K.

``python -m vaebook.annealing_lab --out DIR`` trains the whole grid and writes
``grid.json`` (histories, numbers, the command and the time it took) and
``images.npz`` (uint8 images). Weights are not kept.
Shapes: B batch, D = 784, K latents.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .annealing import ExponentialDecay
from .data import BinarizedMNIST
from .discrete_vae import BinaryVAEConfig
from .evaluation import active_units
from .models import VAEConfig
from .objectives import elbo, iw_bound
from .training import TrainConfig, TrainState, make_optimizer, resolve_device

FOLDER = Path(__file__).parent / "pretrained" / "lab"
ACTIVE_THRESHOLD = 0.01  # Burda et al.: unit k is active if Cov_x(E_q[z_k|x]) > 0.01


@dataclass
class LabConfig:
    """The size of every lab run (saved with the grid)."""

    steps: int = 1000
    batch_size: int = 100
    lr: float = 1e-3
    hidden: tuple[int, ...] = (200,)
    binary_latents: int = 32  # Bernoulli latents of the discrete runs
    gaussian_latents: int = 50  # as the MNIST chapter's VAE
    log_every: int = 25  # training curves: means over windows of this many steps
    variance_at: tuple[int, ...] = (0, 50, 125, 250, 500, 1000)  # clipped to steps
    variance_repeats: int = 12  # gradient draws on one batch per variance estimate
    test_images: int = 1000  # first test images, binarized once (seed 0)
    num_images: int = 8  # reconstructions and prior samples kept per run
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.log_every < 1 or self.variance_repeats < 2:
            raise ValueError(
                "steps and log_every must be >= 1 and variance_repeats >= 2, got "
                f"{self.steps}, {self.log_every}, {self.variance_repeats}"
            )


@dataclass(frozen=True)
class Setting:
    """One run of the discrete grid: a temperature or a smoothing-beta schedule.

    ``rate = 0`` is a fixed temperature ``start`` (``floor`` unused). A schedule with
    ``rate > 0`` and ``floor >= start`` never anneals and is refused (ValueError).
    ``beta_end`` set: the smoother f3 with beta fixed at it (``beta_start`` None) or
    moved geometrically from ``beta_start`` over the first 70 % of the steps.
    """

    start: float = 1.0
    floor: float = 0.5
    rate: float = 0.0
    beta_end: float | None = None
    beta_start: float | None = None

    def __post_init__(self) -> None:
        self.model_config((200,), 2)  # raises on a schedule that cannot anneal

    @property
    def key(self) -> str:
        if self.beta_end is not None:
            start = "fixed" if self.beta_start is None else f"s{self.beta_start:g}"
            return f"beta_{start}_e{self.beta_end:g}"
        if self.rate == 0:
            return f"tau_s{self.start:g}_r0"
        return f"tau_s{self.start:g}_f{self.floor:g}_r{self.rate:g}"

    def model_config(self, hidden, latent_dim) -> BinaryVAEConfig:
        if self.beta_end is not None:
            how = "none" if self.beta_start is None else "geometric"
            return BinaryVAEConfig(
                hidden=tuple(hidden),
                latent_dim=latent_dim,
                estimator="smoothing-f3",
                sharpness=self.beta_end,
                sharpness_start=self.beta_start,
                sharpness_anneal=how,
                sharpness_anneal_fraction=0.7,
            )
        floor = self.floor if self.rate > 0 else min(self.floor, self.start)
        return BinaryVAEConfig(
            hidden=tuple(hidden),
            latent_dim=latent_dim,
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
    """
    params = list(model.encoder.parameters())
    grads = []
    for _ in range(repeats):
        loss = objective(x)["loss"]
        grads.append(
            torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])
        )
    return float(torch.stack(grads).var(0).sum())


def _data(config: LabConfig, device, train: BinarizedMNIST | None):
    if train is None:
        train = BinarizedMNIST.load("train", "dynamic", config.seed, device)
    test = BinarizedMNIST.load(
        "test", "dynamic", 0, device, limit=config.test_images
    ).fixed()
    return train.to(device), test


def _batches(train: BinarizedMNIST, batch_size: int):
    epoch = 0
    while True:
        yield from train.batches(batch_size, epoch=epoch)
        epoch += 1


def _uint8(images: torch.Tensor) -> np.ndarray:
    """Pixel probabilities as uint8 in 16 grey levels (0, 17, ..., 255): compact."""
    levels = (images.detach().cpu().clamp(0, 1) * 15).round()
    return (levels * 17).to(torch.uint8).numpy()


class _Windows:
    """Means of per-step metrics over windows of ``every`` steps (one sync a window)."""

    def __init__(self, every: int):
        self.every, self.sums, self.count, self.rows = every, {}, 0, {"step": []}

    def add(
        self, step: int, metrics: dict[str, torch.Tensor], extra: dict[str, float]
    ) -> bool:
        for k, v in metrics.items():
            self.sums[k] = self.sums.get(k, 0) + v.detach().mean()
        self.count += 1
        if step % self.every and step > 1:
            return False
        self.rows["step"].append(step)
        for k, v in self.sums.items():
            self.rows.setdefault(k, []).append(round(float(v) / self.count, 4))
        for k, v in extra.items():
            self.rows.setdefault(k, []).append(round(v, 6))
        self.sums, self.count = {}, 0
        return True


def discrete_run(
    setting: Setting,
    config: LabConfig | None = None,
    device="auto",
    train: BinarizedMNIST | None = None,
    time_limit: float | None = None,
    callback: Callable | None = None,
    progress: bool = False,
) -> dict:
    """Train the lab's binary VAE under ``setting`` for ``config.steps`` steps.

    Stops early after ``time_limit`` seconds (the schedule still follows the step).
    ``callback(run)`` is called at every logged step with the run so far. Returns the
    run: setting, curves (``step``, ``temperature``, ``sharpness``, ``relaxed``,
    ``hard``, ``kl``: window means of the training -ELBOs, nats), ``variance``
    (step -> encoder gradient variance), ``test`` numbers and ``images`` (uint8).
    """
    config = config or LabConfig()
    device = resolve_device(device)
    torch.manual_seed(config.seed)
    model = (
        setting.model_config(config.hidden, config.binary_latents)
        .build()
        .to(device)
        .train()
    )
    train, test = _data(config, device, train)
    optimizer = make_optimizer(model, config.lr)
    state = TrainState(
        TrainConfig(epochs=1, lr=config.lr, device=str(device)),
        total_steps=config.steps,
    )
    run = {
        "setting": asdict(setting),
        "key": setting.key,
        "kind": "discrete",
        "curves": {},
        "variance": {"step": [], "value": []},
    }
    windows = _Windows(config.log_every)
    run["curves"] = windows.rows
    variance_at = sorted({min(s, config.steps) for s in config.variance_at})
    x_var = test[: config.batch_size]
    started = time.perf_counter()
    from tqdm.auto import tqdm

    bar = tqdm(total=config.steps, desc=f"training {setting.key}", disable=not progress)
    for x in _batches(train, config.batch_size):
        if state.step in variance_at:
            value = encoder_gradient_variance(
                model,
                x_var,
                lambda b: model.objective(b, state),
                config.variance_repeats,
            )
            run["variance"]["step"].append(state.step)
            run["variance"]["value"].append(value)
        if state.step >= config.steps or (
            time_limit and time.perf_counter() - started > time_limit
        ):
            break
        out = model.objective(x, state)
        optimizer.zero_grad(set_to_none=True)
        out["loss"].backward()
        optimizer.step()
        state.step += 1
        bar.update(1)
        params = model.hyperparameters(state)
        logged = windows.add(
            state.step,
            {
                "relaxed": out["relaxed_neg_elbo"],
                "hard": out["hard_neg_elbo"],
                "kl": out["kl"],
            },
            {
                "temperature": params["temperature"],
                "sharpness": params["sharpness"],
            },
        )
        if logged and callback is not None:
            callback(run)
    bar.close()
    run["seconds"] = round(time.perf_counter() - started, 2)
    run["steps"] = state.step
    run["test"], run["images"] = _discrete_results(model, test, state, config)
    return run


@torch.no_grad()
def _discrete_results(model, test: torch.Tensor, state: TrainState, config: LabConfig):
    model.eval()
    torch.manual_seed(config.seed + 1)
    out = model.objective(
        test, state
    )  # eval: neg_elbo from exact discrete samples of q
    numbers = {
        k: round(float(out[k].mean()), 3)
        for k in ("hard_neg_elbo", "relaxed_neg_elbo", "kl")
    }
    numbers["temperature"] = model.hyperparameters(state)["temperature"]
    x = test[: config.num_images]
    recon = model.decode(model.encode(x).sample()).mean
    images = {"recon": _uint8(recon), "prior": _uint8(model.sample(config.num_images))}
    model.train()
    return numbers, images


def gaussian_run(
    warmup: float = 0.0,
    free_bits: float = 0.0,
    iw_samples: int = 1,
    config: LabConfig | None = None,
    device="auto",
    train: BinarizedMNIST | None = None,
    bound_samples=(1, 5, 50, 500),
) -> dict:
    """Train the lab's Gaussian VAE (784-hidden-50, tanh) for ``config.steps`` steps.

    Objective: -E_q[log p(x|z)] + beta(t) * free-bits KL (beta ramped linearly from 0
    to 1 over the first ``warmup`` fraction of the steps), or with ``iw_samples=K > 1``
    the importance-weighted bound -L_K (no warm-up, no free bits). At the end, on the
    test images: -ELBO, KL per dimension, activities Cov_x(E_q[z_k|x]) and -L_S for
    each S in ``bound_samples``.
    """
    if iw_samples < 1 or (iw_samples > 1 and (warmup or free_bits)):
        raise ValueError(
            "iw_samples must be >= 1, and K > 1 is trained without warm-up and "
            f"free bits; got K={iw_samples}, warmup={warmup}, free_bits={free_bits}"
        )
    config = config or LabConfig()
    device = resolve_device(device)
    torch.manual_seed(config.seed)
    model = VAEConfig(
        hidden=tuple(config.hidden), latent_dim=config.gaussian_latents
    ).build()
    model = model.to(device).train()
    train, test = _data(config, device, train)
    optimizer = make_optimizer(model, config.lr)
    state = TrainState(
        TrainConfig(epochs=1, beta_warmup=warmup, device=str(device)),
        total_steps=config.steps,
    )
    windows = _Windows(config.log_every)
    started = time.perf_counter()
    for x in _batches(train, config.batch_size):
        if state.step >= config.steps:
            break
        if iw_samples > 1:
            bound = iw_bound(model, x, iw_samples)
            loss, metrics = -bound.mean(), {"neg_bound": -bound}
        else:
            qz = model.encode(x)
            z = qz.rsample()
            log_px = model.decode(z).log_prob(x)  # (B,)
            kl_dims = torch.distributions.kl_divergence(
                qz.base_dist, model.prior().base_dist
            )
            loss = -log_px.mean() + state.beta * free_bits_kl(kl_dims, free_bits)
            metrics = {"neg_elbo": -(log_px - kl_dims.sum(-1)), "kl": kl_dims.sum(-1)}
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state.step += 1
        windows.add(state.step, metrics, {"beta": state.beta})
    run = {
        "key": gaussian_key(warmup, free_bits, iw_samples),
        "kind": "gaussian",
        "warmup": warmup,
        "free_bits": free_bits,
        "iw_samples": iw_samples,
        "curves": windows.rows,
        "seconds": round(time.perf_counter() - started, 2),
        "steps": state.step,
    }
    run["test"] = _gaussian_results(model, test, bound_samples, config.seed)
    return run


def gaussian_key(warmup: float, free_bits: float, iw_samples: int) -> str:
    return f"gauss_w{warmup:g}_fb{free_bits:g}_k{iw_samples}"


@torch.no_grad()
def _gaussian_results(model, test: torch.Tensor, bound_samples, seed: int) -> dict:
    model.eval()
    torch.manual_seed(seed + 1)
    kl_dims = model.kl_per_dimension(test).mean(0)  # (K,) nats
    count, activity = active_units(model, test, ACTIVE_THRESHOLD)
    bounds = {
        str(s): round(float(-iw_bound(model, test, s).mean()), 3) for s in bound_samples
    }
    return {
        "neg_elbo": round(float(-elbo(model, test).elbo.mean()), 3),
        "kl": round(float(kl_dims.sum()), 4),
        "kl_per_dim": [round(float(v), 5) for v in kl_dims],
        "activity": [round(float(v), 5) for v in activity],
        "active_units": count,
        "neg_iw_bound": bounds,
    }


# --- the grid -------------------------------------------------------------------

STARTS = (0.5, 1.0, 2.0)
FLOORS = (0.05, 0.2, 0.5)
RATES = (0.0, 5e-4, 5e-3, 5e-2)  # fixed, too slow, in between, too fast (1,000 steps)
BETA_ENDS = (2.0, 5.0, 20.0)
BETA_STARTS = (None, 1.0)
WARMUPS = (0.0, 0.25, 0.5, 1.0)
FREE_BITS = (0.0, 0.25)
IW_SAMPLES = (1, 5, 50)


def grid_settings() -> list[Setting]:
    """Every discrete run of the grid (a schedule that cannot anneal is not one)."""
    runs = {}
    for start in STARTS:
        for floor in FLOORS:
            for rate in RATES:
                if rate == 0 or floor < start:
                    setting = Setting(start, floor if rate else 0.5, rate)
                    runs[setting.key] = setting
    for end in BETA_ENDS:
        for beta_start in BETA_STARTS:
            runs[f"{end}{beta_start}"] = Setting(beta_end=end, beta_start=beta_start)
    return list(runs.values())


def lookup(grid: dict, start: float, floor: float, rate: float) -> tuple[dict, str]:
    """The shipped run for a slider position, and a note: a schedule with rate > 0 and
    floor >= start is refused by :class:`ExponentialDecay`; the note then says so and
    the run shown is the constant temperature it would train with (rate 0)."""
    runs = grid["runs"]
    if rate == 0:
        return runs[
            Setting(start, 0.5, 0.0).key
        ], f"no annealing: tau = {start:g} throughout"
    try:
        return runs[Setting(start, floor, rate).key], ""
    except ValueError as err:
        return runs[Setting(start, 0.5, 0.0).key], f"refused ({str(err).split(':')[0]})"


_TRAIN: dict = {}  # per worker process: the training split, loaded once


def _run_task(task: tuple) -> dict:
    kind, args, config, device, threads = task
    if threads:
        torch.set_num_threads(threads)
    if "train" not in _TRAIN:
        _TRAIN["train"] = BinarizedMNIST.load("train", "dynamic", config.seed, device)
    if kind == "discrete":
        return discrete_run(args, config, device, _TRAIN["train"])
    return gaussian_run(*args, config=config, device=device, train=_TRAIN["train"])


def grid_tasks() -> list[tuple[str, object]]:
    """Every run of the lab, the slowest first (the IW run with the largest K)."""
    gaussian = [(0.0, 0.0, k) for k in reversed(IW_SAMPLES[1:])]
    gaussian += [(w, fb, 1) for w in WARMUPS for fb in FREE_BITS]
    return [("gaussian", g) for g in gaussian] + [
        ("discrete", s) for s in grid_settings()
    ]


def train_grid(
    out: Path,
    config: LabConfig | None = None,
    device="auto",
    command: str = "",
    workers: int = 1,
    threads: int | None = None,
) -> dict:
    """Train every run of the lab (``workers`` processes) and write ``grid.json`` and
    ``images.npz`` into ``out``."""
    config = config or LabConfig()
    device = str(resolve_device(device))
    started = time.perf_counter()
    runs, images = {}, {}
    tasks = [(kind, args, config, device, threads) for kind, args in grid_tasks()]
    if workers > 1:
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(workers)
        results = pool.imap_unordered(_run_task, tasks)
    else:
        pool, results = None, map(_run_task, tasks)
    for i, run in enumerate(results):
        for name, array in run.pop("images", {}).items():
            images[f"{run['key']}/{name}"] = array
        runs[run["key"]] = run
        t = run["test"]
        what = (
            f"hard -ELBO {t['hard_neg_elbo']:.2f}"
            if run["kind"] == "discrete"
            else f"-ELBO {t['neg_elbo']:.2f}, active {t['active_units']}"
        )
        print(
            f"[{i + 1}/{len(tasks)}] {run['key']}: {what}, {run['seconds']:.0f} s",
            flush=True,
        )
    if pool is not None:
        pool.close()
    test = BinarizedMNIST.load(
        "test", "dynamic", 0, device, limit=config.num_images
    ).fixed()
    images["originals"] = _uint8(test)
    grid = {
        "config": asdict(config),
        "runs": dict(sorted(runs.items())),
        "command": command,
        "device": device,
        "workers": workers,
        "torch_threads": threads or torch.get_num_threads(),
        "torch": torch.__version__,
        "seconds": round(time.perf_counter() - started, 1),
        "data": "MNIST train (60,000 images), dynamic binarization; test numbers on "
        f"the first {config.test_images:,} test images binarized once (seed 0)",
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "grid.json").write_text(json.dumps(grid, separators=(",", ":")))
    np.savez_compressed(out / "images.npz", **images)
    return grid


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
    parser.add_argument("--steps", type=int, default=LabConfig.steps)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads per worker"
    )
    parser.add_argument("--workers", type=int, default=1, help="runs trained at once")
    parser.add_argument("--command", default="python -m vaebook.annealing_lab")
    args = parser.parse_args(argv)
    config = LabConfig(steps=args.steps)
    if args.steps != LabConfig.steps:
        config = replace(
            config,
            variance_at=tuple(
                sorted(
                    {
                        math.ceil(s * args.steps / LabConfig.steps)
                        for s in LabConfig.variance_at
                    }
                )
            ),
        )
    grid = train_grid(
        args.out, config, args.device, args.command, args.workers, args.threads
    )
    print(f"{len(grid['runs'])} runs in {grid['seconds']:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
