"""The checkpoints shipped inside the package (``vaebook/pretrained/*.pt``).

Each was trained on all 60,000 MNIST training images by one command of
``scripts/train_pretrained.sh`` (the command is also stored in the
checkpoint's ``metrics["test"]["command"]``), so a chapter runs in seconds on a
CPU while readers with a GPU can retrain.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .checkpoints import Checkpoint, load_checkpoint

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
            "scripts/train_pretrained.sh retrains them."
        )
    return file


def load(name: str, device: str | torch.device = "cpu") -> Checkpoint:
    """Load the shipped checkpoint ``name`` (model in eval mode, history, metrics)."""
    return load_checkpoint(path(name), device)
