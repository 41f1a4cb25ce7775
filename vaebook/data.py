"""Binarized MNIST held as one tensor on the training device.

Shapes: B batch, N split size, D = 784 pixels.

The root folder comes from configuration: the environment variable
``VAEBOOK_DATA`` (CI and the tests point it at ``../shared/data``), else
``~/.cache/vaebook/data``. Where the files are missing, torchvision downloads
them (a reader's machine, Colab); offline, the error names the variable to set.

Bernoulli decoders need binary pixels, and published numbers differ by about
2 nats between the two binarizations, so every split says which one it uses:

- ``"dynamic"``: a fresh Bernoulli sample of the grey values at every epoch
  (Burda et al. 2016, the IWAE paper's "dynamic MNIST");
- ``"static"``: one Bernoulli sample drawn once with a fixed seed;
- ``"grey"``: the grey values themselves. Only for reproducing recipes that
  train with BCE on grey values (pytorch/examples); that is not a Bernoulli
  likelihood, and the Bernoulli decoder refuses such data.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

DATA_ENV = "VAEBOOK_DATA"
BINARIZATIONS = ("dynamic", "static", "grey")
SPLITS = ("train", "test")


def data_root() -> Path:
    """The MNIST root folder: ``$VAEBOOK_DATA`` or ``~/.cache/vaebook/data``."""
    root = os.environ.get(DATA_ENV) or "~/.cache/vaebook/data"
    return Path(root).expanduser().resolve()


def load_mnist_images(split: str = "train", root: str | Path | None = None,
                      download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey values in [0, 1] as a (N, 784) float tensor, and the (N,) labels."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    import torchvision  # imported here: only data loading needs it

    root = Path(root) if root is not None else data_root()
    try:
        ds = torchvision.datasets.MNIST(root=str(root), train=split == "train", download=download)
    except Exception as err:  # torchvision raises RuntimeError or URLError offline
        raise RuntimeError(
            f"MNIST was not found under {root / 'MNIST' / 'raw'} and could not be downloaded "
            f"({type(err).__name__}: {err}). Set the environment variable {DATA_ENV} to a folder "
            f"that holds MNIST/raw/ (on the project machines: ../shared/data), or run where "
            f"the internet is reachable."
        ) from err
    images = ds.data.reshape(len(ds.data), -1).float().div_(255.0)  # (N, D)
    return images, ds.targets.clone()


def binarize(grey: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One Bernoulli sample per pixel: x_d ~ Bernoulli(grey_d)."""
    return torch.bernoulli(grey, generator=generator)


@dataclass
class BinarizedMNIST:
    """One MNIST split, binarized dynamically or statically, batched by index.

    ``grey`` (N, D) and ``labels`` (N,) live on ``device``. Iterating with
    :meth:`batches` yields (B, D) binary tensors; with ``"dynamic"`` each call
    draws a fresh binarization (one per epoch).
    """

    grey: torch.Tensor
    labels: torch.Tensor
    binarization: str = "dynamic"
    seed: int = 0
    split: str = "train"

    def __post_init__(self) -> None:
        if self.binarization not in BINARIZATIONS:
            raise ValueError(f"binarization must be one of {BINARIZATIONS}, got {self.binarization!r}")
        self._static = None
        if self.binarization == "static":
            self._static = binarize(self.grey, self._generator(self.seed))

    @classmethod
    def load(cls, split: str = "train", binarization: str = "dynamic", seed: int = 0,
             device: str | torch.device = "cpu", limit: int | None = None,
             root: str | Path | None = None) -> "BinarizedMNIST":
        """Load a split onto ``device``; ``limit`` keeps the first ``limit`` images."""
        grey, labels = load_mnist_images(split, root)
        if limit is not None:
            if limit < 1:
                raise ValueError(f"limit must be a positive number of images, got {limit}")
            grey, labels = grey[:limit], labels[:limit]
        return cls(grey.to(device), labels.to(device), binarization, seed, split)

    def __len__(self) -> int:
        return len(self.grey)

    @property
    def device(self) -> torch.device:
        return self.grey.device

    def _generator(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.grey.device).manual_seed(seed)

    def binary(self, epoch: int = 0) -> torch.Tensor:
        """The whole split as binary pixels (N, D): the fixed sample, or epoch ``epoch``'s."""
        if self._static is not None:
            return self._static
        if self.binarization == "grey":
            return self.grey
        return binarize(self.grey, self._generator(self.seed * 1_000_003 + epoch))

    def fixed(self) -> torch.Tensor:
        """A binarization that never changes (for evaluation): the static one, or epoch 0's."""
        return self.binary(epoch=0)

    def batches(self, batch_size: int, epoch: int = 0, shuffle: bool = True) -> Iterator[torch.Tensor]:
        """Yield (B, D) binary batches for one epoch; the last batch may be smaller."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        x = self.binary(epoch)
        if shuffle:
            order = torch.randperm(len(x), generator=self._generator(self.seed + 7919 * (epoch + 1)),
                                   device=self.device)
            x = x[order]
        yield from x.split(batch_size)

    def to(self, device: str | torch.device) -> "BinarizedMNIST":
        return BinarizedMNIST(self.grey.to(device), self.labels.to(device),
                              self.binarization, self.seed, self.split)

    def describe(self, fixed: bool = False) -> str:
        """A phrase saying what the numbers computed on this split are about.

        ``fixed=True`` describes :meth:`fixed`, the binarization evaluations use.
        """
        if fixed and self.binarization == "dynamic":
            return (f"MNIST {self.split} ({len(self):,} images), binarized once for evaluation "
                    f"(one Bernoulli sample, seed {self.seed}; the model trained with dynamic binarization)")
        how = {"dynamic": "dynamic binarization (fresh Bernoulli sample each epoch)",
               "static": f"static binarization (one Bernoulli sample, seed {self.seed})",
               "grey": "grey values in [0, 1] (not binary)"}[self.binarization]
        return f"MNIST {self.split} ({len(self):,} images), {how}"
