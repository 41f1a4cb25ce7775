"""Every training run the book ships or compares, by name: its recipe.

A :class:`Recipe` says what a run trains (a registered model and the options of
``python -m vaebook.train``, exactly those of the command stored in the shipped
checkpoint or record, so retraining reproduces it), its label (what the chapters
show), where its checkpoint goes and its group:

- ``pretrained``: the Gaussian-latent checkpoints shipped with weights (the VAE
  chapters, gradient estimation, reparameterization, computing q(z|x));
- ``estimators``: the equal-step comparison of 17 discrete estimators, once per seed
  (records without weights in ``vaebook/pretrained/estimators.json.gz``; seed 0 of
  ``bin_straight_through`` ships with weights);
- ``evaluations``: the multi-sample estimators again at equal decoder evaluations
  (6,000 / S steps; records in ``evaluations.json.gz``);
- ``headline``: the long discrete models and the candidates compared for them
  (records in ``headline.json.gz``; ``cat_gumbel_vae`` and ``bin_f2_anneal_long``
  ship with weights);
- ``vq``: the VQ-VAE variants (shipped with weights);
- ``priors``: N(0, I), mixture and VampPrior priors and a two-layer VAE, with
  ``mnist_vae``'s networks and recipe at fewer epochs (shipped with weights).

Retrain one run, a few, or a group (finished runs skipped, unfinished ones resumed
with ``--resume``)::

    python -m vaebook.train --recipe mnist_vae_2d
    python -m vaebook.recipes list [GROUP]
    python -m vaebook.recipes run estimators --seeds 0 1 --resume --jobs 2
    python -m vaebook.recipes ship estimators   # records JSON + shipped weights

Options after the names override the recipe's (``--epochs 1``: a quick variant).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import checkpoints, runs

PACKAGE_FOLDER = Path(__file__).parent / "pretrained"


@dataclass(frozen=True)
class Group:
    """Recipes trained and shipped together: ``folder`` holds their checkpoints
    (``NAME_seedS.pt`` where the group keeps records, else ``NAME.pt``); ``records``
    is the JSON of :mod:`vaebook.runs` they ship as (None: they ship with weights)."""

    name: str
    description: str
    folder: Path
    records: Path | None = None


GROUPS = {
    g.name: g
    for g in (
        Group(
            "pretrained", "Gaussian-latent VAEs shipped with weights", PACKAGE_FOLDER
        ),
        Group(
            "estimators",
            "17 discrete estimators at equal steps, once per seed (records)",
            Path("runs/estimators"),
            PACKAGE_FOLDER / "estimators.json.gz",
        ),
        Group(
            "evaluations",
            "the multi-sample estimators at equal decoder evaluations (records)",
            Path("runs/evaluations"),
            PACKAGE_FOLDER / "evaluations.json.gz",
        ),
        Group(
            "headline",
            "the long discrete models and their candidates (records)",
            Path("runs/headline"),
            PACKAGE_FOLDER / "headline.json.gz",
        ),
        Group(
            "vq", "VQ-VAE variants, 5 epochs each, shipped with weights", PACKAGE_FOLDER
        ),
        Group(
            "priors",
            "learned priors and two latent layers at equal epochs (with weights)",
            PACKAGE_FOLDER,
        ),
        Group(
            "components",
            "the learned priors at other numbers of components (records)",
            Path("runs/components"),
            PACKAGE_FOLDER / "components.json.gz",
        ),
        Group(
            "likelihood",
            "mnist_vae trained on, further, with the IWAE bound (with weights)",
            Path("runs/likelihood"),
            PACKAGE_FOLDER / "likelihood.json.gz",
        ),
        Group(
            "prior_seeds",
            "the priors chapter's four models again at other seeds (records)",
            Path("runs/prior_seeds"),
            PACKAGE_FOLDER / "prior_seeds.json.gz",
        ),
    )
}


@dataclass(frozen=True)
class Recipe:
    """One run: ``python -m vaebook.train MODEL OPTIONS [--seed S] --out PATH``.

    ``seeds``: the seeds the shipped runs used (each adds ``--seed S`` to the command
    and ``_seedS`` to the checkpoint's name); None: no ``--seed`` (the config's
    default, 0). ``ships``: its checkpoint (seed 0) ships with weights; stored as the
    int8 difference from the shipped checkpoint ``difference_from`` where one is named
    (:func:`vaebook.checkpoints.save_difference`: a model trained on from it)."""

    name: str
    group: str
    model: str
    options: tuple[str, ...]
    label: str
    note: str = ""
    seeds: tuple[int, ...] | None = None
    ships: bool = False
    difference_from: str | None = None

    def out(self, seed: int | None = None, folder: str | Path | None = None) -> Path:
        """Where its checkpoint goes (``folder``: instead of the group's)."""
        group = GROUPS[self.group]
        folder = Path(folder) if folder is not None else group.folder
        if group.records is None and seed is None:
            return folder / f"{self.name}.pt"
        return folder / f"{self.name}_seed{seed or 0}.pt"

    def argv(
        self,
        seed: int | None = None,
        out: str | Path | None = None,
        overrides: list[str] | tuple[str, ...] = (),
    ) -> list[str]:
        """The arguments of ``python -m vaebook.train`` (``overrides`` replace the
        recipe's values of the same options, or are appended)."""
        out = self.out(seed) if out is None else out
        seeded = ["--seed", str(seed)] if seed is not None else []
        options = with_overrides(self.options, tuple(overrides))
        return [self.model, *options, *seeded, "--out", str(out)]

    def command(self, seed: int | None = None, out: str | Path | None = None) -> str:
        """The command line, as stored in the checkpoint it writes."""
        return "python -m vaebook.train " + shlex.join(self.argv(seed, out))


def _options(words: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """``("--a", "1", "2", "--b")`` -> ``[("--a", ("1", "2")), ("--b", ())]``."""
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for word in words:
        if word.startswith("--"):
            pairs.append((word, ()))
        elif not pairs:
            raise ValueError(f"an option must come first, got {word!r}")
        else:
            pairs[-1] = (pairs[-1][0], (*pairs[-1][1], word))
    return pairs


def with_overrides(options: tuple[str, ...], overrides: tuple[str, ...]) -> list[str]:
    """``options`` with each option of ``overrides`` replacing its value in place
    (``--epochs 1`` for ``--epochs 10``), or appended when it is not there."""
    merged = dict(_options(options))
    merged.update(_options(overrides))
    return [word for flag, values in merged.items() for word in (flag, *values)]


# --- the recipes ---------------------------------------------------------------------

# Options as on the command line (split on spaces), shared pieces first.
DISCRETE = (
    "--lr 1e-3 --lr-schedule cosine --batch-size 100 --beta-warmup 0.3 --epochs {}"
)
DISCRETE_EVAL = (
    "--iw-samples 100 --check-limit 1000 --check-iw-samples 100 --dtype int8"
)
BINARY = "--hidden 512 256 --latent-dim 200"  # Jang et al.'s 784-512-256-200 MLP
CATEGORICAL = "--hidden 512 256 --num-latents 20 --num-classes 10"  # 20 x 10 classes
SHARPNESS_5 = "--sharpness 5"
SHARPNESS_ANNEAL = (  # kappa 1 -> 10, geometric, over the first 70 % of the steps
    "--sharpness-start 1 --sharpness 10 --sharpness-anneal geometric "
    "--sharpness-anneal-fraction 0.7"
)
TAU_ANNEAL = "--temperature 1 --temperature-min 0.5 --anneal-rate 1e-4"
GUMBEL_500 = (
    "--temperature 1 --temperature-min {} --anneal-rate 1e-4 --anneal-every 500"
)
VQ = (  # 5 epochs, Adam 1e-3 cosine, batch 100: equal steps for every variant
    "--channels 32 64 --codebook-size 64 --code-dim 16 --lr 1e-3 --lr-schedule cosine "
    "--batch-size 100 --epochs 5 --iw-samples 1 --check-limit 1000 "
    "--check-iw-samples 1 --dtype int8"
)
SMALL = "--hidden 200 --latent-dim 16 --epochs 15 --lr-schedule cosine"
SMALL_EVAL = "--iw-samples 100 --dtype float16"
ESTIMATION = (  # 784-200-20, 10 epochs: the gradient estimation chapters
    "--hidden 200 --latent-dim 20 --epochs 10 --lr-schedule cosine --batch-size 100 "
    "--iw-samples 1000 --dtype float16"
)
POSTERIOR = (  # 784-200-200-16, 25 epochs: computing q(z|x)
    "--hidden 200 200 --latent-dim 16 --epochs 25 --lr-schedule cosine "
    "--batch-size 100 --iw-samples 1000 --check-limit 500 --check-iw-samples 1000 "
    "--dtype float16"
)

PRETRAINED = [  # name, model, options, label, note
    (
        "mnist_vae",
        "gaussian-vae",
        "--hidden 512 512 --latent-dim 50 --epochs 160 --lr-schedule cosine "
        "--beta-warmup 0.05 --batch-size 100 --iw-samples 5000 --dtype float16",
        "Gaussian VAE 784-512-512-50",
        "the VAE chapter's model; S=5000 NLL on all 10,000 test images",
    ),
    (
        "mnist_vae_2d",
        "gaussian-vae",
        "--hidden 256 256 --latent-dim 2 --epochs 30 --lr-schedule cosine "
        "--iw-samples 1000 --dtype float16",
        "2-D latent space",
        "for the scatter and the manifold",
    ),
    *[
        (
            f"mnist_vae_beta_{b}",
            "gaussian-vae",
            f"{SMALL} --beta {b} {SMALL_EVAL}",
            f"beta = {b}",
            "the beta slider: one small model per KL weight",
        )
        for b in ("0.1", "0.3", "1", "3", "10")
    ],
    (
        "elbo_l2_vae",
        "l2-regularized-vae",
        f"{SMALL} {SMALL_EVAL}",
        "mu^2 + (sigma - 1)^2 regularizer",
        "the notes' alternative regularizer, same setting as mnist_vae_beta_1",
    ),
    (
        "grad_pathwise_vae",
        "gaussian-vae",
        f"{ESTIMATION} --num-samples 4",
        "pathwise",
        "4 samples of z per image (as many as the score function gets)",
    ),
    (
        "grad_score_vae",
        "score-function-vae",
        f"{ESTIMATION} --baseline leave-one-out --num-samples 4",
        "score function",
        "the encoder trained by the score function, leave-one-out baseline",
    ),
    *[
        (
            f"reparam_{family}_vae",
            "reparam-vae",
            f"{ESTIMATION} --posterior {family} --prior {prior}",
            label,
            note,
        )
        for family, prior, label, note in (
            ("gaussian", "matching", "Gaussian q", "prior N(0, I), closed-form KL"),
            ("laplace", "matching", "Laplace q", "prior Laplace(0, 1), closed-form KL"),
            ("logistic", "gaussian", "Logistic q (MC KL)", "prior N(0, I), MC KL"),
        )
    ],
    *[
        (
            f"posterior_{family}_vae",
            "posterior-vae",
            f"--posterior {family} {flows}{POSTERIOR}",
            label,
            note,
        )
        for family, flows, label, note in (
            ("diagonal", "", "diagonal", "q(z|x) = N(mu, diag(sigma^2))"),
            ("fullcov", "", "full covariance", "N(mu, L L^T), L lower-triangular"),
            ("planar", "--num-flows 4 ", "planar flow", "diagonal + 4 planar steps"),
        )
    ],
]

ESTIMATORS = [  # name, label in the book, the estimator's options
    ("bin_straight_through", "straight-through", "--estimator straight-through"),
    (
        "bin_score_function",
        "score function + baseline",
        "--estimator score-function --baseline-decay 0.99",
    ),
    (
        "bin_gumbel_tau1",
        "Gumbel-softmax tau 1",
        "--estimator gumbel-softmax --temperature 1 --anneal-rate 0",
    ),
    (
        "bin_gumbel_tau05",
        "Gumbel-softmax tau 0.5",
        "--estimator gumbel-softmax --temperature 0.5 --anneal-rate 0",
    ),
    (
        "bin_gumbel_anneal",
        "Gumbel-softmax annealed",
        f"--estimator gumbel-softmax {TAU_ANNEAL}",
    ),
    (
        "bin_st_gumbel",
        "ST Gumbel-softmax annealed",
        f"--estimator straight-through-gumbel {TAU_ANNEAL}",
    ),
    *[
        (f"bin_{f}", f"{f} kappa 5", f"--estimator smoothing-{f} {SHARPNESS_5}")
        for f in ("f1", "f2", "f3")
    ],
    *[
        (
            f"bin_{f}_anneal",
            f"{f} kappa annealed",
            f"--estimator smoothing-{f} {SHARPNESS_ANNEAL}",
        )
        for f in ("f1", "f2", "f3")
    ],
]

UNBIASED = [  # the unbiased estimators with control variates (control_variates chapter)
    ("bin_nvil", "NVIL (learned baseline)", "--estimator nvil --baseline-decay 0.99"),
    ("bin_rloo_s2", "RLOO S = 2", "--estimator rloo --estimator-samples 2"),
    ("bin_rloo_s4", "RLOO S = 4", "--estimator rloo --estimator-samples 4"),
    ("bin_vimco_s4", "VIMCO S = 4", "--estimator vimco --estimator-samples 4"),
    ("bin_disarm", "DisARM (a pair)", "--estimator disarm"),
]
ESTIMATORS += UNBIASED

EVALUATIONS = [  # equal decoder evaluations: 6,000 / S steps for the S-pass estimators
    (
        f"{name}_equal",
        f"{label}, {6000 // passes:,} steps",
        f"{options} --max-steps {6000 // passes}",
    )
    for (name, label, options), passes in zip(UNBIASED[1:], (2, 4, 4, 2))
]

HEADLINE = [  # name, model, options, label, note, ships
    (
        "cat_gumbel_vae",
        "categorical-vae",
        f"{CATEGORICAL} --estimator gumbel-softmax {GUMBEL_500.format(0.2)} "
        f"{DISCRETE.format(120)} {DISCRETE_EVAL}",
        "Gumbel-softmax 20 x 10, 120 epochs",
        "tau = max(0.2, exp(-1e-4 t)) every 500 steps; 72,000 steps",
        True,
    ),
    (
        "cat_gumbel_tau02",
        "categorical-vae",
        f"{CATEGORICAL} --estimator gumbel-softmax {GUMBEL_500.format(0.2)} "
        f"{DISCRETE.format(60)} {DISCRETE_EVAL}",
        "Gumbel-softmax 20 x 10, 60 epochs",
        "cat_gumbel_vae's recipe at 60 epochs: the candidate that won",
        False,
    ),
    (
        "cat_st_gumbel",
        "categorical-vae",
        f"{CATEGORICAL} --estimator straight-through-gumbel "
        f"{GUMBEL_500.format(0.5)} {DISCRETE.format(60)} {DISCRETE_EVAL}",
        "ST Gumbel-softmax 20 x 10, 60 epochs",
        "the other candidate: tau = max(0.5, exp(-1e-4 t))",
        False,
    ),
    (
        "bin_rloo_s4_long",
        "binary-vae",
        f"{BINARY} --estimator rloo --estimator-samples 4 "
        f"{DISCRETE.format(120)} {DISCRETE_EVAL}",
        "RLOO S = 4, 120 epochs",
        "the comparison's bin_rloo_s4 at the headline length, 72,000 steps",
        False,
    ),
    (
        "bin_f2_anneal_long",
        "binary-vae",
        f"{BINARY} --estimator smoothing-f2 {SHARPNESS_ANNEAL} "
        f"{DISCRETE.format(60)} {DISCRETE_EVAL}",
        "f2 kappa annealed, 60 epochs",
        "the comparison's bin_f2_anneal trained 60 epochs instead of 10",
        True,
    ),
]

VQ_VARIANTS = [  # name, options beyond VQ, label, note
    ("vq_ema", "", "EMA (paper)", "beta_c 0.25, EMA gamma 0.99, no extra tricks"),
    (
        "vq_ema_restart",
        "--data-init --restart-below 1",
        "EMA + restarts",
        "codebook initialized from data, dead codes restarted",
    ),
    ("vq_codebook_loss", "--no-ema", "codebook loss", "no EMA"),
    ("vq_beta_0", "--commitment 0", "beta_c = 0", "no commitment loss"),
    ("vq_beta_2", "--commitment 2", "beta_c = 2", "strong commitment"),
    ("vq_gamma_0.9", "--decay 0.9", "gamma = 0.9", "fast EMA"),
    ("vq_gamma_0.999", "--decay 0.999", "gamma = 0.999", "slow EMA"),
]


PRIORS_EPOCHS = 30  # what the budget of this machine allowed (chapter priors)
PRIORS_RECIPE = (  # mnist_vae's recipe at PRIORS_EPOCHS epochs, S = 1000, int8
    f"--epochs {PRIORS_EPOCHS} --lr-schedule cosine --beta-warmup 0.05 "
    "--batch-size 100 --iw-samples 1000 --check-limit 200 --check-iw-samples 100 "
    "--dtype int8"
)
# the N(0, I) and mixture runs were evaluated at the end with S = 100 (their S = 1000
# evaluation did not fit the budget); the later runs use that S in their recipes, so
# that the chapter compares every row at the same S
PRIORS_LATER_RECIPE = PRIORS_RECIPE.replace("--iw-samples 1000", "--iw-samples 100")
PRIORS_LATER = ("prior_vamp", "prior_two_layer")


COMPONENTS = (10, 50, 200)  # the slider of the priors chapter over the components
PRIOR_KINDS = [  # kind, options beyond the components and PRIORS_LATER_RECIPE, label
    ("mog", "--hidden 512 512 --latent-dim 50 --latent-prior mog", "mixture"),
    (
        "vamp",
        "--hidden 512 512 --latent-dim 50 --latent-prior vamp --beta-hold 0.05",
        "VampPrior",
    ),
]


PRIOR_SEEDS = (1, 2)  # the priors' comparison again (seed 0 is the shipped run)


def _priors_recipe(name: str) -> str:
    return PRIORS_LATER_RECIPE if name in PRIORS_LATER else PRIORS_RECIPE


PRIOR_RUNS = [  # name, model, options beyond PRIORS_RECIPE, label, note
    (
        "prior_normal",
        "gaussian-vae",
        "--hidden 512 512 --latent-dim 50",
        "N(0, I) prior",
        "mnist_vae's model and recipe at the priors chapter's epochs",
    ),
    (
        "prior_mog",
        "gaussian-vae",
        "--hidden 512 512 --latent-dim 50 --latent-prior mog --prior-components 10",
        "mixture of 10 Gaussians",
        "learned weights, means and scales; KL by one Monte Carlo sample",
    ),
    (
        "prior_vamp",
        "gaussian-vae",
        "--hidden 512 512 --latent-dim 50 --latent-prior vamp --prior-components 50 "
        "--beta-hold 0.05",
        "VampPrior, 50 pseudo-inputs",
        "Tomczak & Welling 2018 use 500; KL weight 0 for the first 5 % of the steps",
    ),
    (
        "prior_two_layer",
        "two-layer-vae",
        "--hidden 512 512 --latent-dim 50 --top-hidden 100 100 --top-latent-dim 20 "
        "--beta-hold 0.05",
        "two layers, 50 + 20 units",
        "z1 -> z2 with N(0, I) on z2 (the IWAE paper's layout, wider); KL weight 0 "
        "for the first 5 % of the steps (without it, KL 0.7 nats after epoch 1)",
    ),
]


def _all() -> list[Recipe]:
    """The tables above as recipes."""
    comparison = f"{BINARY} {DISCRETE.format(10)} {DISCRETE_EVAL}"
    return [
        *[
            Recipe(n, "pretrained", m, tuple(o.split()), lb, nt)
            for n, m, o, lb, nt in PRETRAINED
        ],
        *[
            Recipe(
                name,
                "estimators",
                "binary-vae",
                tuple(f"{comparison} {options}".split()),
                label,
                "200 Bernoulli latents, 6,000 steps; only the estimator differs",
                seeds=(0, 1),
                ships=name == "bin_straight_through",
            )
            for name, label, options in ESTIMATORS
        ],
        *[
            Recipe(
                name,
                "evaluations",
                "binary-vae",
                tuple(f"{comparison} {options}".split()),
                label,
                "the comparison's run at 6,000 decoder evaluations per image",
                seeds=(0, 1),
            )
            for name, label, options in EVALUATIONS
        ],
        *[
            Recipe(n, "headline", m, tuple(o.split()), lb, nt, ships=sh)
            for n, m, o, lb, nt, sh in HEADLINE
        ],
        *[
            Recipe(n, "vq", "vq-vae", tuple(f"{VQ} {o}".split()), lb, nt)
            for n, o, lb, nt in VQ_VARIANTS
        ],
        *[
            Recipe(n, "priors", m, tuple(f"{o} {_priors_recipe(n)}".split()), lb, nt)
            for n, m, o, lb, nt in PRIOR_RUNS
        ],
        *[
            Recipe(
                f"prior_{kind}_{k}",
                "components",
                "gaussian-vae",
                (*options.split(), "--prior-components", str(k))
                + tuple(PRIORS_LATER_RECIPE.split()),
                f"{label}, {k} components",
                f"prior_{kind}'s recipe with {k} components (a record, no weights)",
            )
            for kind, options, label in PRIOR_KINDS
            for k in COMPONENTS
            if (kind, k) not in (("mog", 10), ("vamp", 50))  # shipped in "priors"
        ],
        *[
            Recipe(
                f"{n}_seeds",
                "prior_seeds",
                m,
                tuple(f"{o} {PRIORS_LATER_RECIPE}".split()),
                lb,
                f"{n}'s recipe at other seeds (records; {n} is seed 0)",
                seeds=PRIOR_SEEDS,
            )
            for n, m, o, lb, nt in PRIOR_RUNS
        ],
    ]


# the priors chapter's try at the IWAE paper's 84.78: the shipped mnist_vae's weights
# trained on, further, with the paper's objective (S = 50), for what this machine's
# budget allowed (--time-limit: the cosine schedule follows the time and ends with it)
LIKELIHOOD = Recipe(  # shipped as its int8 difference from mnist_vae (1.5 MB)
    "mnist_vae_iwae",
    "likelihood",
    "gaussian-vae",
    tuple(
        "--hidden 512 512 --latent-dim 50 --init-from mnist_vae --objective iwae "
        "--num-samples 50 --lr 2e-4 --lr-schedule cosine --epochs 60 --time-limit 4800 "
        "--batch-size 100 --test-limit 1000 --iw-samples 5000 --check-limit 1000 "
        "--check-iw-samples 1000 --dtype float16".split()
    ),
    "mnist_vae + IWAE (S = 50)",
    "mnist_vae's weights trained on with the IWAE bound, 80 minutes on 2 CPU cores",
    ships=True,
    difference_from="mnist_vae",
)

RECIPES: dict[str, Recipe] = {r.name: r for r in [*_all(), LIKELIHOOD]}


def get(name: str) -> Recipe:
    """The recipe ``name``; a clear error naming the known ones."""
    if name not in RECIPES:
        raise KeyError(f"no recipe {name!r}; known: {' '.join(RECIPES)}")
    return RECIPES[name]


def in_group(group: str) -> list[Recipe]:
    """The recipes of ``group``, in their defined order."""
    if group not in GROUPS:
        raise KeyError(f"no group {group!r}; groups: {' '.join(GROUPS)}")
    return [r for r in RECIPES.values() if r.group == group]


def labels(group: str) -> dict[str, str]:
    """{run name: the label the chapters show} for ``group``."""
    return {r.name: r.label for r in in_group(group)}


def listing(group: str | None = None) -> str:
    """One line per recipe (name, group, seeds, label), for ``--list-recipes``."""
    chosen = in_group(group) if group else list(RECIPES.values())
    lines = []
    for r in chosen:
        seeds = " seeds " + " ".join(map(str, r.seeds)) if r.seeds else ""
        ships = ", ships weights" if r.ships or GROUPS[r.group].records is None else ""
        lines.append(f"{r.name:22} {r.group:10} {r.label}{seeds}{ships}")
    return "\n".join(lines)


# --- running them --------------------------------------------------------------------


def resolve(names: list[str]) -> list[Recipe]:
    """Recipes by name, a group's name standing for all of its recipes."""
    chosen: list[Recipe] = []
    for name in names:
        for recipe in in_group(name) if name in GROUPS else [get(name)]:
            if recipe not in chosen:
                chosen.append(recipe)
    return chosen


def train_argv(
    recipe: Recipe,
    seed: int | None,
    resume: bool = False,
    overrides: tuple[str, ...] = (),
    folder: str | Path | None = None,
) -> list[str]:
    """The arguments of ``python -m vaebook.train`` that run ``recipe`` at ``seed``."""
    argv = ["--recipe", recipe.name]
    argv += ["--seed", str(seed)] if seed is not None else []
    argv += ["--out", str(recipe.out(seed, folder))] if folder is not None else []
    return argv + (["--resume"] if resume else []) + list(overrides)


def run(
    recipes: list[Recipe],
    seeds: list[int] | None = None,
    resume: bool = False,
    overrides: tuple[str, ...] = (),
    jobs: int = 1,
    folder: str | Path | None = None,
    dry_run: bool = False,
) -> int:
    """Train each recipe at each seed (``seeds``, default the recipe's own), ``jobs``
    at a time, each in its own ``python -m vaebook.train`` process (one CPU thread
    each when ``jobs`` > 1, its output in ``runs/logs/``). With ``resume``, finished
    runs are skipped and unfinished ones continue. Returns how many failed."""
    tasks = []
    for recipe in recipes:
        for seed in seeds if seeds is not None else recipe.seeds or [None]:
            out = recipe.out(seed, folder)
            if resume and runs.state(out) == "finished":
                print(f"== {recipe.name} seed {seed or 0}: finished, skipped ({out})")
                continue
            argv = train_argv(recipe, seed, resume, overrides, folder)
            tasks.append((f"{recipe.name} seed {seed or 0}", out.stem, argv))
    if dry_run:
        for *_, argv in tasks:
            print("python -m vaebook.train " + shlex.join(argv))
        return 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return sum(not ok for ok in pool.map(lambda t: _train(*t, jobs), tasks))


def _train(tag: str, stem: str, argv: list[str], jobs: int) -> bool:
    """One ``python -m vaebook.train`` process; whether it succeeded."""
    print(f"== {tag}", flush=True)
    command = [sys.executable, "-m", "vaebook.train", *argv]
    if jobs == 1:
        ok = subprocess.run(command, check=False).returncode == 0
    else:
        log = Path("runs/logs") / f"{stem}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        with open(log, "w") as f:
            ok = subprocess.run(command, stdout=f, stderr=f, env=env).returncode == 0
    print(f"== {tag}: {'finished' if ok else f'FAILED (log: runs/logs/{stem}.log)'}")
    return ok


def ship(group: str, folder: str | Path | None = None) -> list[Path]:
    """Write ``group``'s records (its finished ``NAME_seedS.pt`` checkpoints at their
    recipes' seeds, without weights) to its JSON in ``vaebook/pretrained`` and copy
    there the seed-0 checkpoints of its recipes that ship with weights. Refused while
    one of its runs is absent or unfinished. Returns the files written."""
    spec = GROUPS[group]
    if spec.records is None:
        raise ValueError(f"group {group} trains straight into {spec.folder}")
    paths = [
        recipe.out(seed, folder)
        for recipe in in_group(group)
        for seed in recipe.seeds or [0]
    ]
    missing = [f"{p} ({runs.state(p)})" for p in paths if runs.state(p) != "finished"]
    if missing:
        raise ValueError(f"{group} is not finished: {', '.join(missing)}")
    written = [runs.write_runs(paths, spec.records)]
    for recipe in in_group(group):
        if recipe.ships:
            written.append(ship_weights(recipe, recipe.out(0, folder)))
    return written


def ship_weights(recipe: Recipe, trained: Path) -> Path:
    """Copy the checkpoint ``trained`` into ``vaebook/pretrained`` as ``NAME.pt``, or
    store it there as its difference from ``recipe.difference_from``."""
    target = PACKAGE_FOLDER / f"{recipe.name}.pt"
    if recipe.difference_from is None:
        return Path(shutil.copyfile(trained, target))
    base = PACKAGE_FOLDER / f"{recipe.difference_from}.pt"
    binarization = checkpoints.read_checkpoint(trained)["train_config"]["binarization"]

    def measure(model, stored: dict) -> dict:
        return _storage_cost(model, stored, binarization)

    cost = checkpoints.save_difference(target, trained, base, measure)
    print(f"{target}: int8 differences from {base.name}, {cost}")
    return target


def _storage_cost(model, stored: dict, binarization: str) -> dict:
    """The -ELBO's change on the first 1,000 test images (the run's binarization) from
    storing ``model``'s weights as ``stored`` (the same draws of z for both)."""
    from .evaluate import load_test_set
    from .train import weights_cost  # (vaebook.train imports this module)

    images = load_test_set(binarization, limit=1000)
    return {"neg_elbo_cost": weights_cost(model, stored, images), "images": 1000}


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vaebook.recipes",
        description=__doc__.split("\n\n")[0],
        epilog="Options not listed here are the recipe options to override.",
    )
    parser.add_argument("action", choices=("list", "run", "ship"))
    parser.add_argument("names", nargs="*", help="recipes or groups")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--resume", action="store_true", help="skip finished runs")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once")
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--dry-run", action="store_true", help="print the commands")
    return parser


def main(argv: list[str] | None = None) -> int:
    options, overrides = parser().parse_known_args(argv)
    try:
        if options.jobs < 1:
            raise ValueError(f"--jobs must be an integer >= 1, got {options.jobs}")
        if options.action == "list":
            print("\n".join(listing(group) for group in options.names or [None]))
            return 0
        if not options.names:
            raise ValueError(f"name recipes or groups ({' '.join(GROUPS)})")
        if options.action == "ship":
            for path in [p for g in options.names for p in ship(g, options.out_dir)]:
                print(f"wrote {path}")
            return 0
        chosen = resolve(options.names)
    except (KeyError, ValueError, FileNotFoundError) as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    args = (options.seeds, options.resume, tuple(overrides), options.jobs)
    failed = run(chosen, *args, options.out_dir, options.dry_run)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
