"""The checkpoints shipped inside the package (``vaebook/pretrained/*.pt``).

Each was trained on all 60,000 MNIST training images by its recipe in
:mod:`vaebook.recipes` (``python -m vaebook.train --recipe NAME`` retrains it; the
command is also stored in the checkpoint), so a chapter runs in seconds on a CPU
while readers with a GPU can retrain.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .checkpoints import Checkpoint, load_checkpoint
from .runs import SUFFIXES, Run, read_runs

FOLDER = Path(__file__).parent / "pretrained"


def available() -> list[str]:
    """Names of the shipped checkpoints."""
    return sorted(p.stem for p in FOLDER.glob("*.pt"))


def path(name: str) -> Path:
    """Where the shipped checkpoint ``name`` lies; a clear error if there is none."""
    file = FOLDER / f"{name}.pt"
    if not file.is_file():
        raise FileNotFoundError(
            f"no pretrained checkpoint {name!r}; shipped: {available()}. "
            "python -m vaebook.train --recipe NAME retrains one."
        )
    return file


def load(name: str, device: str | torch.device = "cpu") -> Checkpoint:
    """Load the shipped checkpoint ``name`` (model in eval mode, history, metrics)."""
    return load_checkpoint(path(name), device)


def runs(name: str = "estimators") -> list[Run]:
    """The shipped records (no weights) of the training runs ``name``: for
    ``"estimators"``, the 17 estimators of the equal-step comparison, each once per
    seed (``python -m vaebook.recipes run estimators`` trains them); for
    ``"evaluations"``, the multi-sample estimators at equal decoder evaluations; for
    ``"headline"``, the long discrete models and their candidates; for
    ``"components"``, the learned priors at other numbers of components; for
    ``"likelihood"``, ``mnist_vae`` trained on with the IWAE bound. (Stored as
    ``NAME.json.gz``.)"""
    for file in (FOLDER / f"{name}{suffix}" for suffix in reversed(SUFFIXES)):
        if file.is_file():
            return read_runs(file)
    raise FileNotFoundError(f"no shipped runs {name!r}; shipped: {shipped_runs()}")


def shipped_runs() -> list[str]:
    """Names of the shipped records (:func:`runs`)."""
    files = [p.name for p in FOLDER.iterdir() if p.name.endswith(SUFFIXES)]
    return sorted({f.removesuffix(".gz").removesuffix(".json") for f in files})


def total_size() -> int:
    """Bytes of everything under ``vaebook/pretrained`` (weights and records)."""
    return sum(p.stat().st_size for p in FOLDER.rglob("*") if p.is_file())
