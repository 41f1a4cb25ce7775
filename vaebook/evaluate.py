"""Command line: print the test -ELBO and importance-weighted NLL of a checkpoint.

python -m vaebook.evaluate checkpoints/vae.pt --iw-samples 5000

Every run is scored on the same images: the MNIST test set binarized once with
:data:`TEST_SEED` (0), whatever seed the run trained with, as ``vaebook.train``
recorded its metrics.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from .checkpoints import CheckpointError, load_checkpoint
from .data import BinarizedMNIST, DataNotFoundError
from .evaluation import evaluate
from .training import check_data_dim, resolve_device

TEST_SEED = 0  # the test set's binarization, the same for every run and seed


def load_test_set(
    binarization: str, device: str | torch.device = "cpu", limit: int | None = None
) -> BinarizedMNIST:
    """The MNIST test images every run is scored on: binarized once with
    :data:`TEST_SEED` whatever the run's seed, so that runs with different seeds are
    scored on the same images (the first ``limit`` of them)."""
    return BinarizedMNIST.load("test", binarization, TEST_SEED, device, limit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vaebook.evaluate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("checkpoint")
    parser.add_argument(
        "--iw-samples",
        type=int,
        default=5000,
        help="importance samples S, an integer >= 1 (default 5000)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="only the first N test images, N >= 1"
    )
    parser.add_argument("--device", default="auto")
    options = parser.parse_args(argv)
    try:  # every option, the checkpoint and the data, before any work
        if options.iw_samples < 1:
            raise ValueError(
                f"--iw-samples must be an integer >= 1, got {options.iw_samples}"
            )
        if options.limit is not None and options.limit < 1:
            raise ValueError(f"--limit must be an integer >= 1, got {options.limit}")
        device = resolve_device(options.device)
        ckpt = load_checkpoint(options.checkpoint, device)
        config = ckpt.train_config
        binarization = config.binarization if config else "dynamic"
        test = load_test_set(binarization, device, options.limit)
        check_data_dim(ckpt.model, test)
    except (CheckpointError, ValueError, DataNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        json.dumps(evaluate(ckpt.model, test, iw_samples=options.iw_samples), indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
