"""Command line: train a model on binarized MNIST and write its checkpoint.

    python -m vaebook.train gaussian-vae --hidden 512 512 --latent-dim 50 \\
        --epochs 100 --lr-schedule cosine --out checkpoints/vae.pt

Every field of the model's config and of :class:`vaebook.training.TrainConfig`
is an option (``--help`` lists them). After training, the checkpoint records
the test -ELBO and the importance-weighted NLL with ``--iw-samples`` samples, of
the weights as stored (``--dtype float16`` or ``int8`` round them first).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import typing
from pathlib import Path

import torch

from . import registry
from .checkpoints import (
    STORAGE_DTYPES,
    CheckpointError,
    decode_state,
    encode_state,
    load_for_resume,
    save_checkpoint,
)
from .data import BinarizedMNIST, DataNotFoundError
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


def parser_for(model_name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m vaebook.train {model_name}",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="where to write the checkpoint (.pt)"
    )
    parser.add_argument(
        "--iw-samples",
        type=int,
        default=5000,
        help="importance samples for the test NLL",
    )
    parser.add_argument(
        "--eval-limit",
        type=int,
        default=None,
        help="evaluate on the first N test images",
    )
    parser.add_argument(
        "--check-limit",
        type=int,
        default=1000,
        help=(
            "also record the NLL on the first N test images (what a chapter recomputes)"
        ),
    )
    parser.add_argument(
        "--check-iw-samples",
        type=int,
        default=1000,
        help="importance samples for that check",
    )
    parser.add_argument(
        "--dtype",
        choices=list(STORAGE_DTYPES),
        default="float32",
        help="weight storage",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="CKPT",
        help="continue the run saved in CKPT (--out holds it after "
        "every epoch), given the same options",
    )
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        models = ", ".join(sorted(registry.CONFIGS))
        print(
            "usage: python -m vaebook.train MODEL [options] (MODEL --help lists them)"
            f"\n\n{__doc__.strip()}\n\nMODEL is one of: {models}"
        )
        return 0
    if not argv or argv[0].startswith("-") or argv[0] not in registry.CONFIGS:
        given = argv[0] if argv else "nothing"
        print(
            f"error: MODEL must be one of {sorted(registry.CONFIGS)} (got {given}); "
            "usage: python -m vaebook.train MODEL [options]",
            file=sys.stderr,
        )
        return 2
    name, options = argv[0], parser_for(argv[0]).parse_args(argv[1:])
    try:  # every option, the output folder and the data, before any work
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
        model_config = from_options(registry.CONFIGS[name], options)
        train_config = from_options(TrainConfig, options)
        check_writable(options.out)
        device = resolve_device(train_config.device)
        load = lambda split, seed, limit: BinarizedMNIST.load(
            split, train_config.binarization, seed, device, limit
        )
        train = load("train", train_config.seed, train_config.train_limit)
        # the test images are binarized with seed 0 whatever the run's seed, so that
        # runs with different seeds are scored on the same images
        test = load("test", 0, None)
        torch.manual_seed(train_config.seed)
        model = model_config.build()
        check_data_dim(model, train)
    except (ValueError, TypeError, DataNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    command, resume = "python -m vaebook.train " + " ".join(argv), None
    if options.resume is not None:
        try:
            ckpt = load_for_resume(options.resume, model_config, train_config)
        except CheckpointError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        model, resume, command = ckpt.model, ckpt.resume, ckpt.command or command

    def save_epoch(history: list[dict], state: dict) -> None:  # resumable, each epoch
        save_checkpoint(
            options.out, model, train_config, history, command=command, resume=state
        )

    limited = _first(test, train_config.test_limit)
    history = fit(
        model, train_config, train, limited, resume=resume, on_epoch=save_epoch
    )
    dtype, storage = options.dtype, None
    if dtype == "int8":  # as accuracy allows: float16 where int8 costs too much
        dtype, storage = storage_dtype(model, _first(test, 1000))
        if dtype != "int8":
            print(
                f"int8 storage would cost {storage['int8_cost']:.2f} nats of test "
                f"-ELBO (limit {INT8_TOLERANCE}); storing float16 instead",
                file=sys.stderr,
            )
    if dtype != "float32":  # evaluate the weights as stored (float16 / int8)
        model.load_state_dict(decode_state(encode_state(model.state_dict(), dtype)))
    metrics = evaluate(
        model, _first(test, options.eval_limit), iw_samples=options.iw_samples
    )
    metrics["command"] = command
    if storage is not None:
        metrics["storage"] = storage
    saved = {"test": metrics}
    if options.check_limit:
        saved["check"] = evaluate(
            model,
            _first(test, options.check_limit),
            iw_samples=options.check_iw_samples,
        )
    save_checkpoint(
        options.out,
        model,
        train_config,
        history,
        saved,
        dtype=dtype,
        command=command,
    )
    print(json.dumps({"checkpoint": str(options.out), **metrics}, indent=2))
    return 0


INT8_TOLERANCE = 0.5  # nats of test -ELBO that int8 storage may cost


@torch.no_grad()
def rounding_cost(model, x, dtype: str) -> float:
    """How many nats the mean -ELBO of the images ``x`` (a tensor or BinaryImages)
    rises when the weights are stored as ``dtype`` (the same draws of z for both; the
    model is left unchanged)."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    values = []
    for weights in (state, decode_state(encode_state(state, dtype))):
        model.load_state_dict(weights)
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
