"""Comparing the discrete-latent gradient estimators (book/comparing_estimators).

Two kinds of evidence, kept apart:

- **Trained models**: the same binary VAE (784-512-256-200, 200 Bernoulli latents)
  trained with each estimator for the same number of optimizer steps, once per seed
  (the recipes of group ``estimators`` in :mod:`vaebook.recipes`; the records,
  without weights, are :func:`vaebook.pretrained.runs`). :func:`over_seeds` gathers
  one number per seed into a :class:`SeedSpread`, :func:`separated` says whether
  two estimators are apart beyond their seeds and evaluation noise,
  :func:`results_table` is the chapter's table, :func:`final_params` the estimator's
  hyperparameters at the end of training, and :func:`test_bounds` recomputes the
  hard (exact discrete) and relaxed test -ELBO of a model with weights.
- **A small enumerable model**: E_q[f(z)] over K Bernoulli latents (2^K states), whose
  exact gradient :func:`vaebook.experiments.enumeration.exact_gradient` gives by
  enumeration; :func:`gradient_table` measures each estimator's bias and variance
  against it from S single-sample estimates.

Shapes: S samples, B batch, D pixels, K latents.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F
from torch import distributions as D

from ..discrete import ScoreFunction, get_estimator
from ..evaluation import mean_and_se
from ..recipes import labels
from .enumeration import bias_and_variance, exact_gradient, gradient_samples

MULTI_SAMPLE = ("rloo", "vimco")  # estimators with S samples per step
CONTROL_VARIATES = ("nvil", *MULTI_SAMPLE, "disarm")  # book/control_variates


def decoder_passes(config) -> int:
    """Decoder passes per image and training step of a binary VAE's estimator: S for
    rloo and vimco, 2 for DisARM's pair, 1 for the others (the relaxed ones also
    decode one exact sample to record the hard bound, which does not train)."""
    if config.estimator in MULTI_SAMPLE:
        return config.estimator_samples
    return 2 if config.estimator == "disarm" else 1


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator at fixed hyperparameters: a name of
    :data:`vaebook.discrete.ESTIMATORS` and its params."""

    label: str
    estimator: str
    params: dict = field(default_factory=dict)


# --- the small enumerable model -------------------------------------------------------


def toy_problem(
    num_latents: int = 8,
    data_dim: int = 24,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, Callable]:
    """Encoder logits (K,) and f(z) = log p(x|z) of a tiny random decoder, for a fixed
    binary x.

    The decoder is p(x|z) = prod_d Bernoulli(x_d; sigmoid(W z + b)_d) with W (D, K) and
    b (D,) standard normal, and x (D,) one draw from it at a random binary z*; the
    logits of q are N(0, 1). f is defined for any real z, so relaxed estimators can
    evaluate it between 0 and 1, as the decoder of a trained VAE does. ``f`` maps z
    (..., K) -> (...,).
    """
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(data_dim, num_latents, generator=g, dtype=dtype)
    b = torch.randn(data_dim, generator=g, dtype=dtype)
    z_star = torch.randint(0, 2, (num_latents,), generator=g).to(dtype)
    x = torch.bernoulli(torch.sigmoid(w @ z_star + b), generator=g)
    logits = torch.randn(num_latents, generator=g, dtype=dtype)

    def f(z: torch.Tensor) -> torch.Tensor:
        pixel_logits = z @ w.T + b  # (..., D)
        return -F.binary_cross_entropy_with_logits(
            pixel_logits, x.expand_as(pixel_logits), reduction="none"
        ).sum(-1)

    return logits, f


def score_function_no_baseline(
    logits: torch.Tensor, f: Callable, num_samples: int
) -> torch.Tensor:
    """Single-sample REINFORCE estimates f(z) d log q(z) / dlogits = f(z) (z -
    sigmoid(logits)), with no baseline: (S, K). Unbiased; its variance is what baselines
    are for."""
    return gradient_samples(ScoreFunction(), logits, f, num_samples, baseline=None)


def gradient_table(
    specs: list[EstimatorSpec],
    logits: torch.Tensor,
    f: Callable,
    num_samples: int = 4000,
    seed: int = 0,
) -> list[dict]:
    """One row per estimator: bias and variance of its single-sample estimate of
    d/dlogits E_q[f(z)].

    The exact gradient comes from enumerating all 2^K states. Each row holds the
    ``label``, ``estimator``, ``params``, ``bias_norm`` = ||mean - exact||, its Monte
    Carlo noise level ``mean_se_norm`` = sqrt(trace Cov / S) (what ``bias_norm`` is for
    an unbiased estimator, up to chance), their ratio ``bias_in_se``, ``relative_bias``
    = bias_norm / ||exact||, ``variance`` = trace of the covariance of one estimate,
    ``cosine`` between mean and exact gradient, and ``mse`` = ||bias||^2 + variance (the
    expected squared error of one estimate). The estimator
    ``"score-function-no-baseline"`` is REINFORCE without a baseline;
    ``"score-function"`` uses the leave-one-out baseline of
    :func:`vaebook.experiments.enumeration.gradient_samples`.
    """
    exact = exact_gradient(logits, f)
    rows = []
    for i, spec in enumerate(specs):
        torch.manual_seed(seed + i)
        samples = _spec_samples(spec, logits, f, num_samples)
        stats = bias_and_variance(samples.detach(), exact)
        rows.append(_table_row(spec, stats, exact, num_samples))
    return rows


def _spec_samples(
    spec: EstimatorSpec, logits: torch.Tensor, f: Callable, num_samples: int
) -> torch.Tensor:
    """``num_samples`` single-sample estimates (S, K) of the estimator ``spec``
    names."""
    if spec.estimator == "score-function-no-baseline":
        return score_function_no_baseline(logits, f, num_samples)
    estimator = get_estimator(spec.estimator).at(**spec.params)
    return gradient_samples(estimator, logits, f, num_samples)


def _table_row(
    spec: EstimatorSpec, stats: dict, exact: torch.Tensor, num_samples: int
) -> dict:
    """One row of :func:`gradient_table` from the estimator's bias and variance."""
    return {
        "label": spec.label,
        "estimator": spec.estimator,
        "params": dict(spec.params),
        **stats,
        "bias_in_se": stats["bias_norm"] / stats["mean_se_norm"]
        if stats["mean_se_norm"] > 0
        else math.inf,
        "relative_bias": stats["bias_norm"] / float(exact.norm()),
        "mse": stats["bias_sq"] + stats["variance"],
        "num_samples": num_samples,
    }


# --- the trained models ---------------------------------------------------------------


def final_params(config, history: list[dict]) -> dict:
    """The estimator's hyperparameters at the end of training, as the last epoch's test
    pass used them."""
    last = history[-1]
    params = {"temperature": float(last.get("test_temperature", config.temperature))}
    if hasattr(config, "sharpness"):  # Bernoulli latents: the smoothers' kappa
        params["sharpness"] = float(last.get("test_sharpness", config.sharpness))
        params["base"] = config.smoothing_base
    if config.estimator in MULTI_SAMPLE:  # S of rloo and vimco
        params["num_samples"] = config.estimator_samples
    return params


def spec_for(label: str, config, history: list[dict]) -> EstimatorSpec:
    """The :class:`EstimatorSpec` of a trained model: its estimator at its
    end-of-training params."""
    return EstimatorSpec(label, config.estimator, final_params(config, history))


def training_summary(history: list[dict]) -> dict:
    """What a history says about a run: epochs, median seconds per epoch, total training
    seconds (the test passes excluded), the first and the last epoch's test -ELBO and
    relaxed -ELBO."""
    seconds = sorted(row["seconds"] for row in history)
    first, last = history[0], history[-1]
    return {
        "epochs": len(history),
        "seconds_per_epoch": seconds[len(seconds) // 2],
        "train_seconds": sum(seconds),
        "first_neg_elbo": first["test_neg_elbo"],
        "last_neg_elbo": last["test_neg_elbo"],
        "last_relaxed_neg_elbo": last.get("test_relaxed_neg_elbo"),
    }


@torch.no_grad()
def test_bounds(
    model, x: torch.Tensor, params: dict, num_samples: int = 1, batch_size: int = 1000
) -> dict:
    """Test -ELBO of a discrete VAE on ``x`` (N, D), per image averaged over
    ``num_samples`` draws.

    ``hard``: the decoder sees exact discrete samples z ~ q(z|x), a true bound on -log
    p(x) whatever estimator trained the model. ``relaxed``: it sees the estimator's z at
    ``params`` (the objective a relaxed estimator trains on; for exact-sample estimators
    the two coincide in distribution). Both use the closed-form KL(q(z|x) || p(z)).
    Returns means and standard errors over the N images.
    """
    model.eval()
    hard, relaxed = [], []
    for b in x.split(batch_size):
        logits = model.encoder_logits(b)
        qz = model.latents(logits)
        kl = D.kl_divergence(qz, model.prior())  # (B,)
        z_hard = qz.sample((num_samples,))  # (S, B, K)
        estimator = model.estimator_type.at(**params)
        z_soft = estimator(logits.expand(num_samples, *logits.shape))
        hard.append(-(model.decode(z_hard).log_prob(b).mean(0) - kl))
        relaxed.append(-(model.decode(z_soft).log_prob(b).mean(0) - kl))
    hard, relaxed = torch.cat(hard), torch.cat(relaxed)
    return {**mean_and_se(hard=hard, relaxed=relaxed), "num_images": len(hard)}


# --- the equal-step runs, over seeds --------------------------------------------------

# run name -> label in the book: the estimator comparison's recipes say them
LABELS = labels("estimators")


@dataclass(frozen=True)
class SeedSpread:
    """One estimator's number over its seeds: ``values`` (one per seed, in the order
    of ``seeds``) and the evaluation standard error of each (``ses``: over the test
    images, NaN where there is none)."""

    seeds: tuple[int, ...]
    values: tuple[float, ...]
    ses: tuple[float, ...]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    @property
    def se(self) -> float:
        """The largest evaluation standard error of the seeds (0 if none is known)."""
        known = [s for s in self.ses if not math.isnan(s)]
        return max(known, default=0.0)


def hard_bound(run) -> tuple[float, float]:
    """A run's hard test -ELBO (exact discrete z, all its test images) and its SE."""
    test = run.metrics["test"]
    return test["neg_elbo"], test["neg_elbo_se"]


def iw_bound(run) -> tuple[float, float]:
    """A run's importance-weighted test NLL bound (``iw_samples`` samples) and SE."""
    test = run.metrics["test"]
    return test["iw_nll"], test["iw_nll_se"]


def relaxed_bound(run) -> tuple[float, float]:
    """The last epoch's relaxed test -ELBO (decoder at the estimator's z), no SE."""
    return run.history[-1]["test_relaxed_neg_elbo"], math.nan


def relaxed_gap(run) -> tuple[float, float]:
    """Relaxed minus hard test -ELBO of the last epoch (the same test pass), no SE."""
    last = run.history[-1]
    return last["test_relaxed_neg_elbo"] - last["test_hard_neg_elbo"], math.nan


def by_name(runs: list) -> dict[str, list]:
    """The runs grouped by name (in the order of :data:`LABELS`, others after), each
    group sorted by seed."""
    order = {name: i for i, name in enumerate(LABELS)}
    groups: dict[str, list] = {}
    for run in sorted(runs, key=lambda r: (order.get(r.name, len(order)), r.name)):
        groups.setdefault(run.name, []).append(run)
    return {name: sorted(group, key=lambda r: r.seed) for name, group in groups.items()}


def over_seeds(runs: list, value: Callable = hard_bound) -> dict[str, SeedSpread]:
    """{run name: :class:`SeedSpread`} of ``value(run) -> (number, its SE)`` over each
    name's seeds."""
    spreads = {}
    for name, group in by_name(runs).items():
        pairs = [value(run) for run in group]
        spreads[name] = SeedSpread(
            tuple(run.seed for run in group),
            tuple(float(v) for v, _ in pairs),
            tuple(float(se) for _, se in pairs),
        )
    return spreads


def spread_of(tests: dict[int, dict], number: str = "iw_nll") -> SeedSpread:
    """The :class:`SeedSpread` of the test metric ``number`` (its SE: ``number``
    + ``"_se"``) from ``{seed: metrics["test"]}``, for runs kept in different places
    (a shipped checkpoint for one seed, records for the others)."""
    seeds = tuple(sorted(tests))
    return SeedSpread(
        seeds,
        tuple(float(tests[s][number]) for s in seeds),
        tuple(float(tests[s].get(f"{number}_se", math.nan)) for s in seeds),
    )


def separated(a: SeedSpread, b: SeedSpread) -> bool:
    """Whether ``a`` is lower than ``b`` beyond noise: every seed of ``a`` below every
    seed of ``b``, by more than the two largest evaluation standard errors together.

    With two or three seeds this is a weak test, and a cautious one: it never ranks
    two estimators whose seeds overlap."""
    return b.lo - a.hi > a.se + b.se


def compare(a: SeedSpread, b: SeedSpread) -> str:
    """Where ``a`` stands against ``b``: "lower" or "higher" where :func:`separated`
    ranks them (lower is better for a -ELBO), else "within noise"."""
    if separated(a, b):
        return "lower"
    if separated(b, a):
        return "higher"
    return "within noise"


def is_relaxed(run) -> bool:
    """Whether the run's estimator trains on a relaxed z (Gumbel-softmax, smoothers)."""
    return get_estimator(run.model_config.estimator).relaxed


def results_table(runs: list, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per estimator, sorted by the mean hard test -ELBO over its seeds.

    Columns: ``seeds``; ``passes`` (decoder passes per image and step,
    :func:`decoder_passes`); ``hard -ELBO`` (mean over seeds), ``seeds' range``
    (min-max, as text), ``eval SE`` (the largest seed's standard error over the
    test images); ``IW NLL`` (mean over seeds, the importance-weighted bound the runs
    recorded);
    ``relaxed -ELBO`` (mean over seeds, last epoch; NaN for estimators without a
    relaxation); ``train s`` (mean training seconds, test passes excluded). The index
    holds the labels (``labels``, default :data:`LABELS`)."""
    labels = LABELS if labels is None else labels
    hard, iw = over_seeds(runs, hard_bound), over_seeds(runs, iw_bound)
    relaxed = over_seeds(runs, relaxed_bound)
    groups = by_name(runs)
    rows = {}
    for name in sorted(hard, key=lambda n: hard[n].mean):
        h = hard[name]
        rows[labels.get(name, name)] = {
            "seeds": len(h.values),
            "passes": decoder_passes(groups[name][0].model_config),
            "hard -ELBO": h.mean,
            "seeds' range": f"{h.lo:.1f}–{h.hi:.1f}",
            "eval SE": h.se,
            "IW NLL": iw[name].mean,
            "relaxed -ELBO": relaxed[name].mean
            if is_relaxed(groups[name][0])
            else math.nan,
            "train s": sum(r.seconds for r in groups[name]) / len(groups[name]),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "estimator"
    return table


def at_equal_evaluations(runs: list, evaluation_runs: list) -> list:
    """The runs that spent the same decoder evaluations: the one-pass estimators of
    ``runs`` (6,000 steps) and ``evaluation_runs``, the S-pass ones at 6,000 / S steps
    (the recipes of group ``evaluations``)."""
    single = [r for r in runs if decoder_passes(r.model_config) == 1]
    budget = {
        r.steps * decoder_passes(r.model_config) for r in single + evaluation_runs
    }
    if len(budget) != 1:
        raise ValueError(f"the runs spent different decoder evaluations: {budget}")
    return single + list(evaluation_runs)


def ranking_table(runs: list, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Whether the ranking by mean hard test -ELBO holds, one step at a time: a row
    per estimator (best first, as in :func:`results_table`) but the last, with the
    ``next`` one in the ranking, the ``seeds' gap`` (the next one's best seed minus
    this one's worst: negative where the seeds overlap), the ``noise`` it must exceed
    (the two evaluation standard errors together) and the verdict of
    :func:`compare` in ``apart`` (True where this one is lower beyond noise)."""
    labels = LABELS if labels is None else labels
    hard = over_seeds(runs, hard_bound)
    names = sorted(hard, key=lambda n: hard[n].mean)
    rows = {}
    for name, following in zip(names, names[1:]):
        a, b = hard[name], hard[following]
        rows[labels.get(name, name)] = {
            "next": labels.get(following, following),
            "seeds' gap": b.lo - a.hi,
            "noise": a.se + b.se,
            "apart": separated(a, b),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "estimator"
    return table
