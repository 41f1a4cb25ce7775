"""Command line: train a model on binarized MNIST and write its checkpoint.

    python -m vaebook.train gaussian-vae --hidden 512 512 --latent-dim 50 \\
        --epochs 100 --lr-schedule cosine --out checkpoints/vae.pt
    python -m vaebook.train --recipe mnist_vae_2d [--resume]   # a shipped run
    python -m vaebook.train --list-recipes
    python -m vaebook.train gaussian-vae --init-from mnist_vae --objective iwae \\
        --num-samples 50 --lr 2e-4 --epochs 20 --out checkpoints/iwae.pt

The last one continues from a shipped model's weights (``--init-from``: a path or a
name of :func:`vaebook.pretrained.available`, same model config; a fresh optimizer)
with the IWAE bound as the objective.

A recipe (:mod:`vaebook.recipes`) is a shipped or compared run by name; options
after it override its own (``--epochs 1``), ``--seed S`` and ``--out CKPT`` choose
the seed and the file, and ``--resume`` continues an unfinished run (a finished one
is left as it is).

Every field of the model's config and of :class:`vaebook.training.TrainConfig`
is an option (``--help`` lists them). After training, the checkpoint records
the test -ELBO and the importance-weighted NLL with ``--iw-samples`` samples, of
the weights as stored (``--dtype float16`` or ``int8`` round them first), on the
test images binarized once with seed 0 whatever the run's seed
(:func:`vaebook.evaluate.load_test_set`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import sys
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path

import torch

from . import pretrained, recipes, registry, runs
from .checkpoints import (
    STORAGE_DTYPES,
    CheckpointError,
    decode_state,
    encode_state,
    load_for_init,
    load_for_resume,
    save_checkpoint,
)
from .data import BinarizedMNIST, DataNotFoundError
from .evaluate import load_test_set
from .evaluation import evaluate
from .training import TrainConfig, check_data_dim, fit, resolve_device


def add_dataclass_options(parser: argparse.ArgumentParser, cls) -> None:
    """One ``--option`` per dataclass field, typed from its annotation."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(cls.__name__)
    for f in dataclasses.fields(cls):
        hint, flag = hints[f.name], "--" + f.name.replace("_", "-")
        default = (
            f.default if f.default is not dataclasses.MISSING else f.default_factory()
        )
        if typing.get_origin(hint) is tuple:
            group.add_argument(
                flag, type=typing.get_args(hint)[0], nargs="+", default=default
            )
            continue
        if hint in (bool,):
            group.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default
            )
            continue
        args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        group.add_argument(
            flag, type=args[0], default=default, help=f"default: {default}"
        )


def from_options(cls, options: argparse.Namespace):
    values = {f.name: getattr(options, f.name) for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


RUN_OPTIONS = {  # the options that are not config fields: output and evaluation
    "--out": dict(type=Path, required=True, help="where to write the checkpoint (.pt)"),
    "--iw-samples": dict(
        type=int, default=5000, help="importance samples for the test NLL"
    ),
    "--eval-limit": dict(
        type=int, default=None, help="evaluate on the first N test images"
    ),
    "--check-limit": dict(
        type=int,
        default=1000,
        help="also record the NLL on the first N test images (what a chapter "
        "recomputes)",
    ),
    "--check-iw-samples": dict(
        type=int, default=1000, help="importance samples for that check"
    ),
    "--dtype": dict(
        choices=list(STORAGE_DTYPES), default="float32", help="weight storage"
    ),
    "--init-from": dict(
        default=None,
        metavar="CKPT",
        help="start from the weights of CKPT (a path, or a shipped name: "
        "vaebook.pretrained.available()) instead of the seed's; same model config",
    ),
    "--resume": dict(
        type=Path,
        default=None,
        metavar="CKPT",
        help="continue the run saved in CKPT (--out holds it after every epoch), "
        "given the same options",
    ),
}


def parser_for(model_name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m vaebook.train {model_name}",
        description=__doc__.split("\n\n")[0],
    )
    for flag, spec in RUN_OPTIONS.items():
        parser.add_argument(flag, **spec)
    add_dataclass_options(parser, registry.CONFIGS[model_name])
    add_dataclass_options(parser, TrainConfig)
    return parser


def check_positive(**values) -> None:
    """Each value must be an integer >= 1 (None allowed: the option was not given)."""
    for name, value in values.items():
        if value is not None and value < 1:
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} must be an integer >= 1, got {value}")


def check_finite(options: argparse.Namespace) -> None:
    """Every float option must be a finite number (nan and inf are refused here)."""
    for name, value in vars(options).items():
        if isinstance(value, float) and not math.isfinite(value):
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} must be a finite number, got {value}")


def check_writable(path: Path) -> None:
    """The checkpoint's folder must exist (or be creatable) and accept a new file."""
    if path.is_dir():
        raise ValueError(f"--out must be a file path, got the folder {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".write-test-"):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        message = f"--out {path}: cannot write to {path.parent} ({reason})"
        raise ValueError(message) from None


@dataclass
class Run:
    """A run ready to train: its options, configs, model, data and stored command
    (``resume``: the training state it continues from, or None)."""

    options: argparse.Namespace
    train_config: TrainConfig
    model: torch.nn.Module
    train: BinarizedMNIST
    test: BinarizedMNIST
    command: str
    resume: dict | None = None
    initialized: bool = False  # weights from --init-from, not from the seed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(usage())
        return 0
    if argv[:1] == ["--list-recipes"]:
        print(recipes.listing())
        return 0
    try:  # every option, the output folder and the data, before any work
        if argv[:1] == ["--recipe"]:
            argv = recipe_argv(argv[1:])
            if argv is None:  # finished already: nothing to do
                return 0
        run = prepare(argv)
    except (ValueError, TypeError, DataNotFoundError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    history = train(run)
    dtype, storage = storage_for(run)
    saved = final_metrics(run, storage)
    save_checkpoint(
        run.options.out,
        run.model,
        run.train_config,
        history,
        saved,
        dtype=dtype,
        command=run.command,
    )
    print(json.dumps({"checkpoint": str(run.options.out), **saved["test"]}, indent=2))
    return 0


def usage() -> str:
    models = ", ".join(sorted(registry.CONFIGS))
    return (
        "usage: python -m vaebook.train MODEL [options] (MODEL --help lists them)\n"
        "       python -m vaebook.train --recipe NAME [--seed S] [--out CKPT] "
        "[--resume] [options]\n       python -m vaebook.train --list-recipes"
        f"\n\n{__doc__.strip()}\n\nMODEL is one of: {models}"
    )


def recipe_argv(words: list[str]) -> list[str] | None:
    """The model's arguments for ``--recipe NAME [--seed S] [--out CKPT] [--resume]
    [options]`` (options override the recipe's). ``--resume``: a finished run is left
    as it is (None is returned), an unfinished one continues, an absent one starts."""
    parser = argparse.ArgumentParser(prog="python -m vaebook.train --recipe")
    parser.add_argument("name")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--resume", action="store_true")
    given, overrides = parser.parse_known_args(words)
    if given.name not in recipes.RECIPES:
        raise ValueError(f"no recipe {given.name!r}; --list-recipes lists them")
    recipe = recipes.RECIPES[given.name]
    argv = recipe.argv(given.seed, given.out, overrides)
    out = Path(argv[-1])
    if not given.resume or runs.state(out) == "absent":
        return argv
    if runs.state(out) == "finished":
        print(f"{recipe.name}: {out} holds a finished run, nothing to do")
        return None
    return [*argv, "--resume", str(out)]


def parse(argv: list[str]) -> tuple[str, argparse.Namespace]:
    """The model's name and its checked options (a ValueError names the bad one)."""
    if not argv or argv[0] not in registry.CONFIGS:
        given = argv[0] if argv else "nothing"
        raise ValueError(
            f"MODEL must be one of {sorted(registry.CONFIGS)} (got {given}); "
            "usage: python -m vaebook.train MODEL [options]"
        )
    options = parser_for(argv[0]).parse_args(argv[1:])
    check_finite(options)
    check_positive(
        iw_samples=options.iw_samples,
        eval_limit=options.eval_limit,
        check_iw_samples=options.check_iw_samples,
    )
    if options.check_limit is not None and options.check_limit < 0:
        raise ValueError(
            f"--check-limit must be >= 0 (0: no check), got {options.check_limit}"
        )
    return argv[0], options


def prepare(argv: list[str]) -> Run:
    """Options, configs, the output folder, the data and the model, all checked; the
    training state to continue from with ``--resume``."""
    name, options = parse(argv)
    model_config = from_options(registry.CONFIGS[name], options)
    train_config = from_options(TrainConfig, options)
    check_writable(options.out)
    device = resolve_device(train_config.device)
    train = BinarizedMNIST.load(
        "train",
        train_config.binarization,
        train_config.seed,
        device,
        train_config.train_limit,
    )
    test = load_test_set(train_config.binarization, device)
    model = build_model(model_config, train_config)
    check_data_dim(model, train)
    command = "python -m vaebook.train " + shlex.join(
        without_resume(argv) if options.resume is not None else argv
    )
    run = Run(options, train_config, model, train, test, command)
    if options.init_from is not None and options.resume is None:
        start = load_for_init(init_path(options.init_from), model_config)
        run.model.load_state_dict(start.model.state_dict())
        run.initialized = True
    if options.resume is not None:
        ckpt = load_for_resume(options.resume, model_config, train_config)
        run.model, run.resume = ckpt.model, ckpt.resume
        run.command = ckpt.command or command
    return run


def init_path(name: str) -> Path:
    """``--init-from``'s checkpoint: a file, else a shipped checkpoint's name."""
    if Path(name).is_file():
        return Path(name)
    try:
        return pretrained.path(name)
    except FileNotFoundError as err:
        raise ValueError(f"--init-from {name}: no such file, and {err}") from None


def build_model(model_config, train_config: TrainConfig) -> torch.nn.Module:
    """The model with its initial weights drawn from the run's seed (the rule of
    :func:`vaebook.training.reinitialize`: the same seed, the same initial weights,
    whatever ran before in the process; ``fit(..., init=True)`` draws them again)."""
    torch.manual_seed(train_config.seed)
    return model_config.build()


def without_resume(argv: list[str]) -> list[str]:
    """``argv`` less its ``--resume CKPT`` (the command of a run is how it started)."""
    kept, skip = [], False
    for word in argv:
        if not skip and word != "--resume" and not word.startswith("--resume="):
            kept.append(word)
        skip = word == "--resume"
    return kept


def train(run: Run) -> list[dict]:
    """Fit the model, writing a resumable checkpoint after every epoch."""

    def save_epoch(history: list[dict], state: dict) -> None:
        save_checkpoint(
            run.options.out,
            run.model,
            run.train_config,
            history,
            command=run.command,
            resume=state,
        )

    test = _first(run.test, run.train_config.test_limit)
    return fit(
        run.model,
        run.train_config,
        run.train,
        test,
        resume=run.resume,
        on_epoch=save_epoch,
        # a fresh run starts from its seed's weights, or from --init-from's
        init=run.resume is None and not run.initialized,
    )


def storage_for(run: Run) -> tuple[str, dict | None]:
    """The storage dtype (``--dtype``; for int8, float16 where int8 costs more than
    :data:`INT8_TOLERANCE` nats), what was measured, and the model's weights rounded
    as they will be stored (so that the metrics are of the stored weights)."""
    dtype, storage = run.options.dtype, None
    if dtype == "int8":
        dtype, storage = storage_dtype(run.model, _first(run.test, 1000))
        if dtype != "int8":
            print(
                f"int8 storage would cost {storage['int8_cost']:.2f} nats of test "
                f"-ELBO (limit {INT8_TOLERANCE}); storing float16 instead",
                file=sys.stderr,
            )
    if dtype != "float32":
        stored = encode_state(run.model.state_dict(), dtype)
        run.model.load_state_dict(decode_state(stored))
    return dtype, storage


def final_metrics(run: Run, storage: dict | None) -> dict:
    """The test metrics of the stored weights (``--iw-samples`` samples on the first
    ``--eval-limit`` images, with the command) and the chapter's check."""
    options = run.options
    test = _first(run.test, options.eval_limit)
    metrics = evaluate(run.model, test, iw_samples=options.iw_samples)
    metrics["command"] = run.command
    if storage is not None:
        metrics["storage"] = storage
    saved = {"test": metrics}
    if options.check_limit:
        saved["check"] = evaluate(
            run.model,
            _first(run.test, options.check_limit),
            iw_samples=options.check_iw_samples,
        )
    return saved


INT8_TOLERANCE = 0.5  # nats of test -ELBO that int8 storage may cost


def rounding_cost(model, x, dtype: str) -> float:
    """How many nats the mean -ELBO of the images ``x`` (a tensor or BinaryImages)
    rises when the weights are stored as ``dtype`` (the same draws of z for both; the
    model is left unchanged)."""
    state = model.state_dict()
    return weights_cost(model, decode_state(encode_state(state, dtype)), x)


@torch.no_grad()
def weights_cost(model, weights: dict, x) -> float:
    """How many nats the mean -ELBO of the images ``x`` rises when ``model``'s weights
    are replaced by ``weights`` (their stored, rounded copy): the same draws of z for
    both, so the difference is the rounding's, not Monte Carlo noise. The model is
    left unchanged."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    values = []
    for w in (state, weights):
        model.load_state_dict(w)
        torch.manual_seed(0)
        values.append(evaluate(model, x, iw_samples=1)["neg_elbo"])
    model.load_state_dict(state)
    return values[1] - values[0]


def storage_dtype(model, data) -> tuple[str, dict]:
    """``"int8"`` if it costs at most :data:`INT8_TOLERANCE` nats of -ELBO on ``data``,
    else ``"float16"``; and what was measured. (A layer with a few large weights per
    row, like a decoder's first layer on binary codes, can lose its small weights to
    int8's one scale per row.)"""
    cost = rounding_cost(model, data, "int8")
    dtype = "int8" if cost <= INT8_TOLERANCE else "float16"
    return dtype, {"dtype": dtype, "int8_cost": cost, "images": len(data)}


def _first(data: BinarizedMNIST, limit: int | None) -> BinarizedMNIST:
    """The first ``limit`` images of ``data`` (all for None), same binarization."""
    if limit is None or limit >= len(data):
        return data
    return BinarizedMNIST(
        data.grey[:limit], data.labels[:limit], data.binarization, data.seed, data.split
    )


if __name__ == "__main__":
    sys.exit(main())
