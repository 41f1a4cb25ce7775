"""One fit loop for every model in the book: :func:`fit`.

The data split lives on the training device as one tensor and is batched by
index (no per-sample DataLoader). The loop is seeded and reproducible, shows a
``tqdm.auto`` bar (silent in CI and book builds) and returns a history: one
dict per epoch (or per logging window of ``TrainConfig.log_every`` steps) with the
training averages of every per-example metric the objective returns, the test
averages and the KL per latent dimension, the learning rate, the KL weight and the
seconds the epoch (window) took.

An objective is a callable ``objective(model, x, state) -> dict`` whose
``"loss"`` entry is the scalar to minimize and whose other entries are
per-example (B,) metrics, e.g. ``neg_elbo``, ``log_px_given_z``, ``kl``.

Stopping: after ``epochs`` epochs (``"finished"``), after ``max_steps`` optimizer
steps (``"max_steps"``), at the ``time_limit`` (``"time_limit"``: after the epoch
that reaches it, or after the step under a ``max_steps`` budget), or when the
per-step ``callback(state, out)`` returns True (``"callback"``). The reason is
``history.stopped``, ``state.stopped`` and the checkpoint's ``"stopped"``.

Seeds: ``TrainConfig.seed`` seeds the objective's noise (rsample, the estimators)
and the MNIST that :func:`fit` loads itself (its binarization and order; data handed
in is ordered by its own seed). The initial weights are the model's as given, so
that a trained model is fine-tuned, never reset: build the model after
``torch.manual_seed(config.seed)`` (as ``vaebook.train`` does), or pass
``fit(..., init=True)``, which draws them afresh from the config's seed (the same
weights). Then two fits with the same config give the same weights and history.

Resuming: after every epoch ``on_epoch(history, training_state(...))`` is called
(``vaebook.train`` writes a checkpoint there). Given the weights of such a
checkpoint in ``model`` and ``resume`` = its training state with ``"history"``
added (``Checkpoint.resume``), :func:`fit` continues after the last saved epoch
with the same optimizer, step count, schedules and random state, and returns the
same history as a run never interrupted (bit for bit on the CPU; not under a
``time_limit``, whose schedules follow the clock).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import torch

from .data import BINARIZATIONS, BinarizedMNIST, BinaryImages, as_dataset
from .objectives import elbo, iw_terms, training_metrics

LR_SCHEDULES = ("constant", "cosine")
OBJECTIVES = ("elbo", "iwae")  # TrainConfig.objective
# why fit stopped: all epochs run, the step budget, the time budget, the callback
STOP_REASONS = ("finished", "max_steps", "time_limit", "callback")


# TrainConfig's checks: (holds for config c, message formatted with c=config)
CONFIG_RULES: list[tuple[Callable[["TrainConfig"], bool], str]] = [
    (lambda c: c.epochs >= 1, "epochs must be at least 1, got {c.epochs}"),
    (lambda c: c.batch_size >= 1, "batch_size must be at least 1, got {c.batch_size}"),
    (lambda c: c.lr > 0, "lr must be positive, got {c.lr}"),
    (
        lambda c: c.lr_schedule in LR_SCHEDULES,
        f"lr_schedule must be one of {LR_SCHEDULES}, got {{c.lr_schedule!r}}",
    ),
    (lambda c: c.beta >= 0, "beta (the KL weight) must be >= 0, got {c.beta}"),
    (
        lambda c: 0 <= c.beta_warmup <= 1,
        "beta_warmup is a fraction of training in [0, 1], got {c.beta_warmup}",
    ),
    (
        lambda c: 0 <= c.beta_hold < 1,
        "beta_hold is a fraction of training in [0, 1), got {c.beta_hold}",
    ),
    (
        lambda c: c.objective in OBJECTIVES,
        f"objective must be one of {OBJECTIVES}, got {{c.objective!r}}",
    ),
    (
        lambda c: c.num_samples >= 1,
        "num_samples must be at least 1, got {c.num_samples}",
    ),
    (
        lambda c: c.time_limit is None or c.time_limit > 0,
        "time_limit must be positive seconds, got {c.time_limit}",
    ),
    (
        lambda c: c.max_steps is None or c.max_steps >= 1,
        "max_steps must be an integer >= 1 (or None), got {c.max_steps}",
    ),
    (
        lambda c: c.log_every is None or c.log_every >= 1,
        "log_every must be an integer >= 1 (or None), got {c.log_every}",
    ),
    (
        lambda c: c.train_limit is None or c.train_limit >= 1,
        "train_limit must be an integer >= 1 (or None), got {c.train_limit}",
    ),
    (
        lambda c: c.test_limit is None or c.test_limit >= 1,
        "test_limit must be an integer >= 1 (or None), got {c.test_limit}",
    ),
    (
        lambda c: c.binarization in BINARIZATIONS,
        f"binarization must be one of {BINARIZATIONS}, got {{c.binarization!r}}",
    ),
]


@dataclass
class TrainConfig:
    """How to train: saved in every checkpoint beside the model config.

    ``beta`` is the KL weight per example (never scaled by the dataset size);
    ``beta_warmup`` ramps it linearly from 0 over that fraction of the steps;
    ``beta_hold`` first holds it at 0 for that fraction (the warm-up starts after it),
    so that the encoder learns to carry information before any KL pulls it back (the
    VampPrior collapses without it: :mod:`vaebook.priors`).
    ``objective``: ``"elbo"`` averages the beta-weighted ELBO over ``num_samples``
    samples; ``"iwae"`` maximizes the importance-weighted bound L_S with S =
    ``num_samples`` (Burda et al. 2016), its weights p(x|z) [p(z)/q(z|x)]^beta
    (beta = 1 after any warm-up: the IWAE bound itself).
    ``max_steps`` is a budget of optimizer steps: training stops after that many
    (``epochs`` is then an upper bound), and the schedules run over ``max_steps``
    instead of epochs x batches.
    ``time_limit`` (seconds) ends training after the first epoch that reaches it, or
    with ``max_steps`` set after the first step that reaches it; the schedules
    (learning rate, KL warm-up, annealed hyperparameters) then follow the larger of
    the step fraction and the elapsed fraction of that time, so a budget on an
    unknown device still runs every schedule to its end (at the cost of bit-for-bit
    reproducibility; ``epochs`` is then an upper bound).
    ``log_every``: history rows are windows of that many steps instead of epochs
    (:func:`fit`).
    """

    epochs: int = 10
    batch_size: int = 100
    lr: float = 1e-3
    lr_schedule: str = "constant"
    beta: float = 1.0
    beta_warmup: float = 0.0
    beta_hold: float = 0.0
    objective: str = "elbo"
    num_samples: int = 1
    binarization: str = "dynamic"
    seed: int = 0
    device: str = "auto"
    train_limit: int | None = None
    test_limit: int | None = None
    time_limit: float | None = None
    max_steps: int | None = None
    log_every: int | None = None

    def __post_init__(self) -> None:
        # every rule is evaluated before the first failure is raised
        failed = [message for ok, message in CONFIG_RULES if not ok(self)]
        if failed:
            raise ValueError(failed[0].format(c=self))
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
    stopped: str | None = None  # why training ended: one of STOP_REASONS

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
        hold, warm = self.config.beta_hold, self.config.beta_warmup
        done = self.progress - hold  # the warm-up's clock starts after the hold
        if done < 0:
            return 0.0
        return self.config.beta * (min(1.0, done / warm) if warm > 0 else 1.0)


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


def iwae_objective(
    model, x: torch.Tensor, state: TrainState
) -> dict[str, torch.Tensor]:
    """Minimize -L_S(x) (weights tempered by the KL weight while it warms up); the
    ELBO's parts are logged from the same S samples, and ``neg_iw_bound`` is -L_S at
    beta = 1."""
    terms = iw_terms(model, x, state.config.num_samples)
    loss = -terms.bound(state.beta).mean()
    parts = terms.elbo_terms()
    neg_iw_bound = -terms.bound().detach()
    return training_metrics(
        loss, parts.log_px_given_z, parts.kl, neg_iw_bound=neg_iw_bound
    )


def model_objective(
    model, x: torch.Tensor, state: TrainState
) -> dict[str, torch.Tensor]:
    """A model's own training objective, ``model.objective(x, state)`` (same dict as
    above)."""
    return model.objective(x, state)


def default_objective(model, config: TrainConfig) -> Callable:
    """The objective ``config.objective`` names: the model's own ``objective`` method
    if it has one (``"elbo"`` only), else the ELBO or the IWAE bound."""
    has_own = hasattr(model, "objective")
    if config.objective == "iwae":
        if has_own:
            raise ValueError(
                f"objective 'iwae': {type(model).__name__} trains with its own "
                "objective; only models without one can use 'iwae'"
            )
        return iwae_objective
    return model_objective if has_own else elbo_objective


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
    kl_dims, means = [], []
    for x in data.fixed().split(batch_size):
        out = objective(model, x, state)
        for key, value in out.items():
            if key != "loss" and value.dim() == 1:
                sums[key] = sums.get(key, 0) + value.sum()
        kl = model.kl_per_dimension(x) if hasattr(model, "kl_per_dimension") else None
        if kl is not None:  # None: the prior does not factorize (a mixture)
            kl_dims.append(kl.sum(0))
        if hasattr(model, "posterior_means"):
            means.append(model.posterior_means(x))
    model.train(was_training)
    result = {key: float(total) / len(data) for key, total in sums.items()}
    if kl_dims:
        result["kl_per_dim"] = (torch.stack(kl_dims).sum(0) / len(data)).tolist()
    if means:  # Burda et al.'s activity Cov_x(E_q[z_k|x]) per unit
        result["activity"] = torch.cat(means).var(0).tolist()
    return result


def _learning_rate(config: TrainConfig, state: TrainState) -> float:
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * state.progress))
    return config.lr


def check_data_dim(model, data: BinaryImages, which: str = "") -> None:
    """Refuse data whose images have another number of pixels than the model takes;
    ``which`` ("training", "test") names the data set in the message."""
    want = getattr(getattr(model, "config", None), "data_dim", None)
    have = getattr(data, "data_dim", None)
    if want is not None and have is not None and want != have:
        shape = "x".join(map(str, data.image_shape))
        name = f"the {which} data" if which else "the data"
        raise ValueError(
            f"the model takes data_dim={want} pixels per image; {name} "
            f"({len(data):,} images of {shape} pixels) has {have}: build the model "
            f"with data_dim={have} or give {which or 'other'} data of {want} pixels"
        )


def rng_state() -> dict:
    """The global torch generators (CPU, every CUDA device, MPS): the noise of rsample
    and of the estimators. The data's binarization and shuffling generators need no
    state: they are seeded per epoch from the data's seed (BinaryImages.batches; the
    config's seed for the MNIST that fit loads itself)."""
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
        "stopped": state.stopped,
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


class History(list):
    """What :func:`fit` returns: the history rows (a list of dicts), plus ``stopped``,
    why training ended (one of :data:`STOP_REASONS`)."""

    stopped: str | None = None


def fit(
    model: torch.nn.Module,
    config: TrainConfig,
    train: BinaryImages | torch.Tensor | None = None,
    test: BinaryImages | torch.Tensor | None = None,
    objective: Callable | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    resume: dict | None = None,
    on_epoch: Callable | None = None,
    *,
    callback: Callable | None = None,
    init: bool = False,
    progress: bool = True,
) -> History:
    """Train ``model`` in place and return its history (see the module's text for
    stopping, seeds and resuming).

    ``train``/``test``: :class:`vaebook.data.BinaryImages` or tensors of images
    ((N, D) or (N, *image_shape), values in [0, 1]), or another batch source
    (``batches(batch_size, epoch)``, ``__len__``, ``to(device)``). ``train=None`` is
    MNIST's training split (the config's binarization, seed, ``train_limit``);
    ``test=None`` is then MNIST's test split (binarized with seed 0, the same images
    for every seed; ``test_limit``), and no test pass when ``train`` is given;
    ``test=False``: no test pass. ``objective`` defaults to the model's own
    ``objective`` method if it has one, else the (beta-weighted) ELBO.
    ``callback(state, out)``: after every optimizer step, with the objective's
    output detached; True stops training. ``init=True``: the initial weights are
    redrawn from ``config.seed`` (:func:`reinitialize`).
    ``progress=False``: no progress bar (a caller that draws its own, e.g. from a
    background thread).
    """
    run = _Run(model, config, train, test, objective, optimizer, init)
    run.start(resume, callback, on_epoch, progress)
    run.train_epochs()
    return run.finish()


class _Run:
    """One :func:`fit`: its data, optimizer, state, progress bar and running sums."""

    def __init__(self, model, config, train, test, objective, optimizer, init):
        objective = objective or default_objective(model, config)
        self.model, self.config, self.objective = model, config, objective
        self.device = resolve_device(config.device)
        if init:
            reinitialize(model, config.seed)
        torch.manual_seed(config.seed)  # the noise of rsample and of the estimators
        model.to(self.device).train()
        self.train, self.test = _datasets(model, config, train, test, self.device)
        self.optimizer = optimizer or make_optimizer(model, config.lr)
        self.batches_per_epoch = math.ceil(len(self.train) / config.batch_size)
        total = config.max_steps or config.epochs * self.batches_per_epoch
        self.state = TrainState(config, total_steps=total, started=time.perf_counter())
        self.history, self.first_epoch = History(), 0
        self.sums: dict[str, torch.Tensor] = {}
        self.count, self.window_start, self.lr = 0, time.perf_counter(), None

    def start(self, resume, callback, on_epoch, progress=True) -> None:
        """Restore a resumed run, open the progress bar, set a constant rate once."""
        config, state = self.config, self.state
        self.callback, self.on_epoch = callback, on_epoch
        if resume is not None:
            if config.log_every and resume["step"] % config.log_every:
                raise ValueError(
                    f"cannot resume at step {resume['step']} with log_every="
                    f"{config.log_every}: the checkpoint ends inside a logging window"
                )
            self.first_epoch = _restore(resume, self.optimizer, state)
            self.history.extend(resume["history"])
            self.history.stopped = resume.get("stopped")
        from tqdm.auto import tqdm  # imported late: tqdm.auto inspects the frontend

        self.bar = tqdm(
            total=state.total_steps,
            initial=state.step,
            desc=f"training {type(self.model).__name__}",
            unit="batch",
            mininterval=0.5,
            disable=progress_disabled() or not progress,
        )
        self.constant_lr = config.lr_schedule == "constant"
        if self.constant_lr:
            self._set_lr(config.lr)
        self.limit_in_epoch = config.max_steps is not None and config.time_limit
        self.window_start = time.perf_counter()

    def _set_lr(self, lr: float) -> None:
        if lr != self.lr:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.lr = lr

    def train_epochs(self) -> None:
        """The epochs from the first (after a resumed one) until done or stopped."""
        config = self.config
        for epoch in range(self.first_epoch, config.epochs):
            self.begin_epoch(epoch)
            for x in self.train.batches(config.batch_size, epoch=epoch):
                if self.step(x):
                    break
            self.end_epoch()
            if self.state.stopped is not None:
                break

    def begin_epoch(self, epoch: int) -> None:
        self.state.epoch = epoch
        if self.config.log_every is None:  # an epoch's row times the epoch alone
            self.window_start = time.perf_counter()

    def step(self, x: torch.Tensor) -> bool:
        """One optimizer step on batch ``x``; True when training must stop after it."""
        state, config = self.state, self.config
        if not self.constant_lr:
            self._set_lr(_learning_rate(config, state))
        out = self.objective(self.model, x, state)
        self.optimizer.zero_grad(set_to_none=True)
        out["loss"].backward()
        self.optimizer.step()
        sums = self.sums
        for key, value in out.items():
            if key != "loss" and value.dim() == 1:
                sums[key] = sums.get(key, 0) + value.detach().sum()
        self.count += len(x)
        state.step += 1
        self.bar.update(1)
        if self.callback is not None:
            detached = {key: value.detach() for key, value in out.items()}
            if self.callback(state, detached):
                state.stopped = "callback"
        if config.log_every and state.step % config.log_every == 0:
            self.history.append(self._row())
        if state.stopped is None:
            state.stopped = self._budget_spent()
        return state.stopped is not None

    def _budget_spent(self) -> str | None:
        """``"max_steps"``, ``"time_limit"`` (with a step budget: checked per step)."""
        config, state = self.config, self.state
        if config.max_steps is not None and state.step >= config.max_steps:
            return "max_steps"
        if self.limit_in_epoch and state.elapsed >= config.time_limit:
            return "time_limit"
        return None

    def _row(self) -> dict:
        """The training means since the last row, with the step, seconds, rate, beta;
        resets the sums (one device sync for all metrics)."""
        now, state = time.perf_counter(), self.state
        row = {
            "epoch": state.epoch + 1,
            "step": state.step,  # optimizer steps so far
            "seconds": now - self.window_start,
            "lr": _learning_rate(self.config, state),
            "beta": state.beta,
        }
        if self.sums:
            totals = torch.stack([v.to(torch.float64) for v in self.sums.values()])
            for key, total in zip(self.sums, totals.tolist()):
                row[f"train_{key}"] = total / self.count
        self.sums, self.count, self.window_start = {}, 0, now
        return row

    def end_epoch(self) -> None:
        """Write the epoch's row (or the last window), test, checkpoint, stop."""
        config, state = self.config, self.state
        if state.stopped is None:
            last = state.epoch + 1 == config.epochs
            out_of_time = config.time_limit is not None and (
                state.elapsed >= config.time_limit
            )
            state.stopped = (
                "time_limit" if out_of_time else "finished" if last else None
            )
        if config.log_every is None:
            self.history.append(self._row())
            self._test(self.history[-1])
        elif state.stopped is not None and self.count:
            self.history.append(self._row())  # the last, partial window
        if state.stopped is not None and config.log_every and self.history:
            self._test(self.history[-1])
        self.history.stopped = state.stopped
        if self.history:
            self.bar.set_postfix(
                {
                    k: f"{self.history[-1][k]:.2f}"
                    for k in ("train_neg_elbo", "test_neg_elbo")
                    if k in self.history[-1]
                }
            )
        if self.on_epoch is not None:
            training = training_state(self.optimizer, state, state.stopped is not None)
            self.on_epoch(self.history, training)

    def _test(self, row: dict) -> None:
        if self.test is not None:
            metrics = evaluate_objective(
                self.model, self.test, self.objective, self.state
            )
            row.update({f"test_{k}": v for k, v in metrics.items()})

    def finish(self) -> History:
        self.bar.close()
        self.model.eval()
        if self.history.stopped is None:
            self.history.stopped = "finished"  # resumed after its last epoch
        return self.history


def reinitialize(model: torch.nn.Module, seed: int) -> None:
    """Draw ``model``'s initial weights afresh from ``seed``: the weights of
    ``model.config.build()`` under ``torch.manual_seed(seed)``."""
    build = getattr(getattr(model, "config", None), "build", None)
    if build is None:
        raise ValueError(
            f"init=True redraws the weights by rebuilding model.config, and this "
            f"{type(model).__name__} has no config with a build() method"
        )
    torch.manual_seed(seed)
    model.load_state_dict(build().state_dict())


def _datasets(model, config: TrainConfig, train, test, device):
    """The training and test sets on ``device`` (None: no test pass), checked
    against the model's data_dim."""
    mnist = train is None
    if mnist:
        train = BinarizedMNIST.load(
            "train", config.binarization, config.seed, device, config.train_limit
        )
    if test is None and mnist:  # the same test images (seed 0) for every seed
        test = BinarizedMNIST.load(
            "test", config.binarization, 0, device, config.test_limit
        )
    train = as_dataset(train, "training images").to(device)
    check_data_dim(model, train, "training")
    if test is None or test is False:
        return train, None
    test = as_dataset(test, "test images").to(device)
    check_data_dim(model, test, "test")
    return train, test


def column(history: list[dict], key: str) -> list:
    """One metric over the epochs, e.g. ``column(history, "test_neg_elbo")``."""
    missing = [row["epoch"] for row in history if key not in row]
    if missing:
        known = sorted(set().union(*history)) if history else []
        raise KeyError(
            f"{key!r} is missing from epochs {missing}; recorded metrics: {known}"
        )
    return [row[key] for row in history]
