"""One fit loop for every model in the book.

The data split lives on the training device as one tensor and is batched by
index (no per-sample DataLoader). The loop is seeded and reproducible, shows a
``tqdm.auto`` bar (silent in CI and book builds) and returns a history: one
dict per epoch with the training and test averages of every per-example
metric the objective returns, the KL per latent dimension, the learning rate,
the KL weight and the seconds the epoch took.

An objective is a callable ``objective(model, x, state) -> dict`` whose
``"loss"`` entry is the scalar to minimize and whose other entries are
per-example (B,) metrics, e.g. ``neg_elbo``, ``log_px_given_z``, ``kl``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import torch

from .data import BINARIZATIONS, BinarizedMNIST, BinaryImages, as_dataset
from .objectives import elbo, training_metrics

LR_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    """How to train: saved in every checkpoint beside the model config.

    ``beta`` is the KL weight per example (never scaled by the dataset size);
    ``beta_warmup`` ramps it linearly from 0 over that fraction of the steps.
    ``time_limit`` (seconds) ends training after the first epoch that reaches it;
    the schedules (learning rate, KL warm-up, annealed hyperparameters) then follow
    the larger of the step fraction and the elapsed fraction of that time, so a
    budget on an unknown device still runs every schedule to its end (at the cost
    of bit-for-bit reproducibility; ``epochs`` is then an upper bound).
    """

    epochs: int = 10
    batch_size: int = 100
    lr: float = 1e-3
    lr_schedule: str = "constant"
    beta: float = 1.0
    beta_warmup: float = 0.0
    num_samples: int = 1
    binarization: str = "dynamic"
    seed: int = 0
    device: str = "auto"
    train_limit: int | None = None
    test_limit: int | None = None
    time_limit: float | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}"),
            (
                self.batch_size >= 1,
                f"batch_size must be at least 1, got {self.batch_size}",
            ),
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (
                self.lr_schedule in LR_SCHEDULES,
                f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}",
            ),
            (self.beta >= 0, f"beta (the KL weight) must be >= 0, got {self.beta}"),
            (
                0 <= self.beta_warmup <= 1,
                "beta_warmup is a fraction of training in [0, 1], got "
                f"{self.beta_warmup}",
            ),
            (
                self.num_samples >= 1,
                f"num_samples must be at least 1, got {self.num_samples}",
            ),
            (
                self.time_limit is None or self.time_limit > 0,
                f"time_limit must be positive seconds, got {self.time_limit}",
            ),
            (
                self.train_limit is None or self.train_limit >= 1,
                "train_limit must be an integer >= 1 (or None), got "
                f"{self.train_limit}",
            ),
            (
                self.test_limit is None or self.test_limit >= 1,
                f"test_limit must be an integer >= 1 (or None), got {self.test_limit}",
            ),
            (
                self.binarization in BINARIZATIONS,
                f"binarization must be one of {BINARIZATIONS}, got "
                f"{self.binarization!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        resolve_device(self.device)  # fails early on a bad device name


@dataclass
class TrainState:
    """Where training is: objectives read it to anneal (KL weight, temperature...)."""

    config: TrainConfig
    epoch: int = 0
    step: int = 0
    total_steps: int = 1
    started: float | None = (
        None  # time.perf_counter() when training began (for time_limit)
    )

    @property
    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.perf_counter() - self.started

    @property
    def progress(self) -> float:
        """Fraction of training done, in [0, 1]: by steps, or by time under a
        time_limit."""
        done = self.step / max(self.total_steps, 1)
        if self.config.time_limit is not None:
            done = max(done, self.elapsed / self.config.time_limit)
        return min(1.0, done)

    @property
    def beta(self) -> float:
        warm = self.config.beta_warmup
        return self.config.beta * (min(1.0, self.progress / warm) if warm > 0 else 1.0)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple's MPS, then the CPU; anything else is taken as
    given."""
    if str(device) != "auto":
        try:
            return torch.device(device)
        except RuntimeError as err:
            raise ValueError(
                "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got "
                f"{device!r}"
            ) from err
    if torch.cuda.is_available():
        return torch.device("cuda")
    if (
        getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available()
    ):
        return torch.device("mps")
    return torch.device("cpu")


def progress_disabled() -> bool:
    """No progress bars in CI, in book builds (VAEBOOK_STATIC) or with
    TQDM_DISABLE=1."""
    return any(
        os.environ.get(v, "") not in ("", "0")
        for v in ("CI", "VAEBOOK_STATIC", "TQDM_DISABLE")
    )


def elbo_objective(
    model, x: torch.Tensor, state: TrainState
) -> dict[str, torch.Tensor]:
    """Minimize -(E_q[log p(x|z)] - beta KL), averaged over the batch."""
    terms = elbo(model, x, state.config.num_samples)
    loss = -terms.weighted(state.beta).mean()
    return training_metrics(loss, terms.log_px_given_z, terms.kl)


def model_objective(
    model, x: torch.Tensor, state: TrainState
) -> dict[str, torch.Tensor]:
    """A model's own training objective, ``model.objective(x, state)`` (same dict as
    above)."""
    return model.objective(x, state)


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam, with the fused step where this torch and device support it (about 20%
    faster on CPU)."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(model.parameters(), lr=lr)


@torch.no_grad()
def evaluate_objective(
    model,
    data: BinaryImages,
    objective: Callable,
    state: TrainState,
    batch_size: int = 1000,
) -> dict[str, float]:
    """Average every per-example metric of ``objective`` over a fixed binarization of
    ``data``."""
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    kl_dims = []
    for x in data.fixed().split(batch_size):
        out = objective(model, x, state)
        for key, value in out.items():
            if key != "loss" and value.dim() == 1:
                sums[key] = sums.get(key, 0) + value.sum()
        if hasattr(model, "kl_per_dimension"):
            kl_dims.append(model.kl_per_dimension(x).sum(0))
    model.train(was_training)
    result = {key: float(total) / len(data) for key, total in sums.items()}
    if kl_dims:
        result["kl_per_dim"] = (torch.stack(kl_dims).sum(0) / len(data)).tolist()
    return result


def _learning_rate(config: TrainConfig, state: TrainState) -> float:
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * state.progress))
    return config.lr


def check_data_dim(model, data: BinaryImages) -> None:
    """Refuse data whose images have another number of pixels than the model takes."""
    want = getattr(getattr(model, "config", None), "data_dim", None)
    if want is not None and want != data.data_dim:
        shape = "x".join(map(str, data.image_shape))
        raise ValueError(
            f"the model takes data_dim={want} pixels per image, the data "
            f"has {data.data_dim} ({shape} images); build it with "
            f"data_dim={data.data_dim}"
        )


def rng_state() -> dict:
    """The global torch generators (CPU, every CUDA device, MPS): the noise of rsample
    and of the estimators. The data's binarization and shuffling generators need no
    state: they are seeded per epoch from the config's seed (BinarizedMNIST.batches)."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        state["mps"] = torch.mps.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    """Restore :func:`rng_state` (the devices this machine has)."""
    torch.set_rng_state(state["cpu"])
    if state.get("cuda") and torch.cuda.is_available():
        for device, cuda in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda, device)
    if "mps" in state and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"])


def training_state(
    optimizer: torch.optim.Optimizer, state: TrainState, finished: bool
) -> dict:
    """What resuming needs beyond weights, config and history (plain data, tensors)."""
    return {
        "epoch": state.epoch + 1,
        "step": state.step,
        "finished": finished,
        "total_steps": state.total_steps,
        "elapsed": state.elapsed,
        "optimizer": optimizer.state_dict(),
        "rng": rng_state(),
    }


def _restore(resume: dict, optimizer: torch.optim.Optimizer, state: TrainState) -> int:
    """Load a :func:`training_state` into ``optimizer`` and ``state``; returns the first
    epoch to run."""
    if resume["total_steps"] != state.total_steps:
        raise ValueError(
            f"cannot resume: the checkpoint's run has "
            f"{resume['total_steps']} steps in all, this one "
            f"{state.total_steps} (other data or batch size)"
        )
    optimizer.load_state_dict(resume["optimizer"])
    state.step = resume["step"]
    state.started = time.perf_counter() - resume["elapsed"]
    set_rng_state(resume["rng"])
    return state.config.epochs if resume["finished"] else resume["epoch"]


def fit(
    model: torch.nn.Module,
    config: TrainConfig,
    train: BinaryImages | torch.Tensor | None = None,
    test: BinaryImages | torch.Tensor | None = None,
    objective: Callable | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    resume: dict | None = None,
    on_epoch: Callable | None = None,
) -> list[dict]:
    """Train ``model`` in place and return its history (one dict per epoch).

    ``train``/``test``: :class:`vaebook.data.BinaryImages` or tensors of images
    ((N, D) or (N, *image_shape), values in [0, 1]); they default to MNIST from
    the configured data root with the config's binarization (``train_limit`` and
    ``test_limit`` apply to MNIST only); ``test=False`` skips the per-epoch test pass.
    ``objective`` defaults to the model's own ``objective`` method if it has
    one, else the (beta-weighted) ELBO.

    Resuming: after every epoch ``on_epoch(history, training_state(...))`` is called
    (``vaebook.train`` writes a checkpoint there). Given the weights of such a
    checkpoint in ``model`` and ``resume`` = its training state with ``"history"``
    added (``Checkpoint.resume``), ``fit`` continues after the last saved epoch with
    the same optimizer, step count, schedules and random state, and returns the same
    history as a run never interrupted (bit for bit on the CPU; not under a
    ``time_limit``, whose schedules follow the clock).
    """
    if objective is None:
        objective = model_objective if hasattr(model, "objective") else elbo_objective
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)  # the noise of rsample and of the estimators
    model.to(device).train()
    if train is None:
        train = BinarizedMNIST.load(
            "train", config.binarization, config.seed, device, config.train_limit
        )
    if test is None:  # the same test images (seed 0) for every seed
        test = BinarizedMNIST.load(
            "test", config.binarization, 0, device, config.test_limit
        )
    train = as_dataset(train, "training images").to(device)
    test = as_dataset(test, "test images").to(device) if test is not False else None
    for data in (train, test) if test is not None else (train,):
        check_data_dim(model, data)
    optimizer = optimizer or make_optimizer(model, config.lr)
    batches_per_epoch = math.ceil(len(train) / config.batch_size)
    state = TrainState(
        config,
        total_steps=config.epochs * batches_per_epoch,
        started=time.perf_counter(),
    )
    from tqdm.auto import tqdm  # imported late: tqdm.auto inspects the frontend

    bar = tqdm(
        total=state.total_steps,
        desc=f"training {type(model).__name__}",
        unit="batch",
        disable=progress_disabled(),
    )
    history, first = [], 0
    if resume is not None:
        first, history = _restore(resume, optimizer, state), list(resume["history"])
        bar.update(state.step)
    for epoch in range(first, config.epochs):
        state.epoch = epoch
        start = time.perf_counter()
        sums: dict[str, torch.Tensor] = {}
        for x in train.batches(config.batch_size, epoch=epoch):
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(config, state)
            out = objective(model, x, state)
            optimizer.zero_grad(set_to_none=True)
            out["loss"].backward()
            optimizer.step()
            for key, value in out.items():
                if key != "loss" and value.dim() == 1:
                    sums[key] = sums.get(key, 0) + value.detach().sum()
            state.step += 1
            bar.update(1)
        seconds = time.perf_counter() - start
        row = {
            "epoch": epoch + 1,
            "step": state.step,  # optimizer steps so far
            "seconds": seconds,
            "lr": _learning_rate(config, state),
            "beta": state.beta,
        }
        row.update({f"train_{k}": float(v) / len(train) for k, v in sums.items()})
        if test is not None:
            row.update(
                {
                    f"test_{k}": v
                    for k, v in evaluate_objective(
                        model, test, objective, state
                    ).items()
                }
            )
        history.append(row)
        bar.set_postfix(
            {
                k: f"{row[k]:.2f}"
                for k in ("train_neg_elbo", "test_neg_elbo")
                if k in row
            }
        )
        limit = config.time_limit
        out_of_time = limit is not None and state.elapsed >= limit
        if on_epoch is not None:
            on_epoch(
                history,
                training_state(
                    optimizer, state, out_of_time or epoch + 1 == config.epochs
                ),
            )
        if out_of_time:
            break  # the time budget is spent (the schedules have reached their ends)
    bar.close()
    model.eval()
    return history


def column(history: list[dict], key: str) -> list:
    """One metric over the epochs, e.g. ``column(history, "test_neg_elbo")``."""
    missing = [row["epoch"] for row in history if key not in row]
    if missing:
        known = sorted(set().union(*history)) if history else []
        raise KeyError(
            f"{key!r} is missing from epochs {missing}; recorded metrics: {known}"
        )
    return [row[key] for row in history]
