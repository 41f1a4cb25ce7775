"""Binary image data sets held as one tensor on the training device.

Shapes: B batch, N split size, D pixels (the product of the image shape).

:class:`BinaryImages` is any set of images with values in [0, 1], flattened to
(N, D), built from a tensor (:meth:`BinaryImages.from_tensor`), a torchvision
data set (:meth:`BinaryImages.from_torchvision`) or MNIST by name
(:meth:`BinaryImages.mnist`; :class:`BinarizedMNIST` is its MNIST spelling,
``BinarizedMNIST.load``). The image shape and D come from the data.

Bernoulli decoders need binary pixels, and published numbers differ by about
2 nats between the two binarizations, so every data set says which one it uses:

- ``"dynamic"``: a fresh Bernoulli sample of the grey values at every epoch
  (Burda et al. 2016, the IWAE paper's "dynamic MNIST");
- ``"static"``: one Bernoulli sample drawn once with a fixed seed;
- ``"grey"``: the grey values themselves. Only for reproducing recipes that
  train with BCE on grey values (pytorch/examples); that is not a Bernoulli
  likelihood, and the Bernoulli decoder refuses such data;
- ``"binary"``: pixels that are 0 or 1 already, used as given
  (what :meth:`BinaryImages.from_tensor` picks for binary data).

MNIST's root folder comes from configuration: the environment variable
``VAEBOOK_DATA`` (CI and the tests point it at ``../shared/data``), else
``~/.cache/vaebook/data``. Where the files are missing, torchvision downloads
them (a reader's machine, Colab); offline, :class:`DataNotFoundError` says in
one line what to set.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

DATA_ENV = "VAEBOOK_DATA"
BINARIZATIONS = ("dynamic", "static", "grey")  # what MNIST (and TrainConfig) offer
KINDS = BINARIZATIONS + ("binary",)  # what a data set may be
SPLITS = ("train", "test")
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DataNotFoundError(RuntimeError):
    """A data set is neither on disk nor downloadable; the message says what to set."""


def data_root() -> Path:
    """The MNIST root folder: ``$VAEBOOK_DATA`` or ``~/.cache/vaebook/data``."""
    root = os.environ.get(DATA_ENV) or "~/.cache/vaebook/data"
    return Path(root).expanduser().resolve()


def _mnist_present(root: Path, split: str) -> bool:
    raw = root / "MNIST" / "raw"
    return all(
        (raw / f).exists() or (raw / f"{f}.gz").exists() for f in MNIST_FILES[split]
    )


def load_mnist_images(
    split: str = "train", root: str | Path | None = None, download: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey values in [0, 1] as a (N, 784) float tensor, and the (N,) labels."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    import torchvision  # imported here: only data loading needs it

    root = Path(root) if root is not None else data_root()
    try:
        ds = torchvision.datasets.MNIST(
            root=str(root),
            train=split == "train",
            download=download and not _mnist_present(root, split),
        )
    except Exception as err:  # torchvision raises RuntimeError or URLError offline
        files = " and ".join(MNIST_FILES[split])
        raise DataNotFoundError(
            f"MNIST {split} ({files}) is not under {root / 'MNIST' / 'raw'} and "
            f"{'could not be downloaded' if download else 'download=False'} "
            f"({type(err).__name__}); set {DATA_ENV} to a folder holding MNIST/raw/ "
            "(on the project machines: ../shared/data) or connect to the internet"
        ) from None  # one line: torchvision's chained download errors add nothing
    images = ds.data.reshape(len(ds.data), -1).float().div_(255.0)  # (N, D)
    return images, ds.targets.clone()


def binarize(
    grey: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One Bernoulli sample per pixel: x_d ~ Bernoulli(grey_d)."""
    return torch.bernoulli(grey, generator=generator)


def _as_grey(images) -> torch.Tensor:
    """A float tensor in [0, 1] from a tensor or array (uint8 divided by 255)."""
    x = torch.as_tensor(images)
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    if x.dtype == torch.bool:
        return x.float()
    return x.float() if not x.is_floating_point() else x


@dataclass
class BinaryImages:
    """A set of images with pixel values in [0, 1], binarized as ``binarization`` says,
    held as one (N, D) tensor ``grey`` on ``device`` and batched by index.

    ``labels`` (N,) are optional (class labels for plots; None when there are none);
    ``image_shape`` is the shape of one image (its product is D); ``name`` and
    ``split`` make :meth:`describe`'s phrase. Iterating with :meth:`batches` yields
    (B, D) binary tensors; with ``"dynamic"`` each epoch draws a fresh binarization.
    """

    grey: torch.Tensor
    labels: torch.Tensor | None = None
    binarization: str = "dynamic"
    seed: int = 0
    split: str = ""
    name: str = "images"
    image_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.binarization not in KINDS:
            raise ValueError(
                f"binarization must be one of {KINDS}, got {self.binarization!r}"
            )
        if self.grey.dim() != 2 or len(self.grey) == 0:
            raise ValueError(
                "grey must be a non-empty (N, D) tensor of pixel values, "
                f"got shape {tuple(self.grey.shape)}"
            )
        if self.image_shape is None:
            side = math.isqrt(self.grey.shape[1])
            square = side * side == self.grey.shape[1]
            self.image_shape = (side, side) if square else (self.grey.shape[1],)
        self.image_shape = tuple(int(s) for s in self.image_shape)
        if math.prod(self.image_shape) != self.grey.shape[1]:
            raise ValueError(
                f"image_shape {self.image_shape} does not hold the "
                f"{self.grey.shape[1]} pixels of each row"
            )
        if self.labels is not None and len(self.labels) != len(self.grey):
            raise ValueError(f"{len(self.labels)} labels for {len(self.grey)} images")
        self._static = None
        if self.binarization == "static":
            self._static = binarize(self.grey, self._generator(self.seed))

    # --- constructors -----------------------------------------------------------------

    @classmethod
    def from_tensor(
        cls,
        images,
        labels=None,
        binarization: str | None = None,
        seed: int = 0,
        name: str = "images",
        split: str = "",
        device: str | torch.device | None = None,
    ) -> BinaryImages:
        """Images (N, D), (N, H, W) or (N, C, H, W), values in [0, 1] (uint8: 0-255).

        ``binarization`` None picks ``"binary"`` for data that is 0/1 already,
        else ``"dynamic"``.
        """
        x = _as_grey(images)
        if x.dim() < 2:
            raise ValueError(
                f"images must be (N, D) or (N, *image_shape), got {tuple(x.shape)}"
            )
        if x.numel() and (not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1):
            raise ValueError(
                "pixel values must lie in [0, 1] (or be uint8 0-255), got "
                f"[{float(x.min())}, {float(x.max())}]"
            )
        if binarization is None:
            binary = bool(((x == 0) | (x == 1)).all())
            binarization = "binary" if binary else "dynamic"
        shape = tuple(x.shape[1:]) if x.dim() > 2 else None
        if labels is not None:
            labels = torch.as_tensor(labels)
        x = x.reshape(len(x), -1)
        if device is not None:
            x = x.to(device)
            labels = labels.to(device) if labels is not None else None
        return cls(x, labels, binarization, seed, split, name, shape)

    @classmethod
    def from_torchvision(
        cls,
        dataset,
        binarization: str | None = None,
        seed: int = 0,
        name: str | None = None,
        split: str = "",
        device: str | torch.device | None = None,
    ) -> BinaryImages:
        """A torchvision set (``.data`` and ``.targets``, or (image, label) items)."""
        data = getattr(dataset, "data", None)
        if data is not None and hasattr(data, "shape"):
            images, labels = data, getattr(dataset, "targets", None)
        else:
            import numpy as np

            pairs = [dataset[i] for i in range(len(dataset))]
            images = torch.stack([torch.as_tensor(np.asarray(p[0])) for p in pairs])
            labels = torch.as_tensor([int(p[1]) for p in pairs])
        if name is None:
            name = type(dataset).__name__
        return cls.from_tensor(images, labels, binarization, seed, name, split, device)

    @classmethod
    def mnist(
        cls,
        split: str = "train",
        binarization: str = "dynamic",
        seed: int = 0,
        device: str | torch.device = "cpu",
        limit: int | None = None,
        root: str | Path | None = None,
    ) -> BinaryImages:
        """An MNIST split on ``device``; ``limit`` keeps its first ``limit`` images."""
        if binarization not in BINARIZATIONS:
            raise ValueError(
                f"binarization must be one of {BINARIZATIONS}, got {binarization!r}"
            )
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be a positive number of images, got {limit}")
        grey, labels = load_mnist_images(split, root)
        if limit is not None:
            grey, labels = grey[:limit], labels[:limit]
        return cls(
            grey.to(device),
            labels.to(device),
            binarization,
            seed,
            split,
            "MNIST",
            (28, 28),
        )

    # --- the data ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.grey)

    @property
    def data_dim(self) -> int:
        """D, the number of pixels of one image."""
        return self.grey.shape[1]

    @property
    def device(self) -> torch.device:
        return self.grey.device

    def _generator(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.grey.device).manual_seed(seed)

    def binarization_seed(self, epoch: int = 0) -> int:
        """The seed of the generator that draws epoch ``epoch``'s Bernoulli sample:
        ``seed`` for a static binarization, ``seed * 1,000,003 + epoch`` for a dynamic
        one (so that the epochs of different seeds never share a sample)."""
        if self.binarization == "static":
            return self.seed
        return self.seed * 1_000_003 + epoch

    def binary(self, epoch: int = 0) -> torch.Tensor:
        """All images as binary pixels (N, D): fixed, or epoch ``epoch``'s."""
        if self._static is not None:
            return self._static
        if self.binarization in ("grey", "binary"):
            return self.grey
        return binarize(self.grey, self._generator(self.binarization_seed(epoch)))

    def fixed(self) -> torch.Tensor:
        """A binarization that never changes (for evaluation): static, or epoch 0's."""
        return self.binary(epoch=0)

    def batches(
        self, batch_size: int, epoch: int = 0, shuffle: bool = True
    ) -> Iterator[torch.Tensor]:
        """Yield (B, D) binary batches for one epoch; the last batch may be smaller."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        x = self.binary(epoch)
        if shuffle:
            order = torch.randperm(
                len(x),
                device=self.device,
                generator=self._generator(self.seed + 7919 * (epoch + 1)),
            )
            x = x[order]
        yield from x.split(batch_size)

    def to(self, device: str | torch.device) -> BinaryImages:
        labels = self.labels.to(device) if self.labels is not None else None
        return type(self)(
            self.grey.to(device),
            labels,
            self.binarization,
            self.seed,
            self.split,
            self.name,
            self.image_shape,
        )

    def describe(self, fixed: bool = False) -> str:
        """A phrase saying what the numbers computed on this data are about.

        ``fixed=True`` describes :meth:`fixed`, the binarization evaluations use.
        The seed stated is the generator's (:meth:`binarization_seed`). It says what
        the data is, not how a model was trained on it (the data cannot know).
        """
        what = " ".join(s for s in (self.name, self.split) if s)
        size = "x".join(map(str, self.image_shape))
        if self.name != "MNIST":
            what = f"{what} ({len(self):,} images of {size} pixels)"
        else:
            what = f"{what} ({len(self):,} images)"
        if fixed and self.binarization == "dynamic":
            seed = self.binarization_seed(0)
            how = f" = {self.seed} x 1,000,003" if seed != self.seed else ""
            return (
                f"{what}, binarized once for evaluation (one Bernoulli sample, "
                f"seed {seed}{how})"
            )
        how = {
            "dynamic": "dynamic binarization (fresh Bernoulli sample each epoch)",
            "static": f"static binarization (one Bernoulli sample, seed {self.seed})",
            "grey": "grey values in [0, 1] (not binary)",
            "binary": "binary pixels as given",
        }[self.binarization]
        return f"{what}, {how}"


@dataclass
class BinarizedMNIST(BinaryImages):
    """One MNIST split, binarized dynamically or statically: ``.load(...)``.

    The same class as :class:`BinaryImages` with MNIST's name and 28x28 shape.
    """

    name: str = "MNIST"
    image_shape: tuple[int, ...] | None = (28, 28)

    # BinarizedMNIST.load(split, binarization, seed, device, limit, root): the chapters'
    # spelling of BinaryImages.mnist, returning a BinarizedMNIST
    load = BinaryImages.__dict__["mnist"]


def as_dataset(data, name: str = "images") -> BinaryImages:
    """``data`` as :class:`BinaryImages`: itself, or a tensor (N, D) or (N, *shape).

    Any other batch source (an object with ``batches(batch_size, epoch)``,
    ``__len__`` and ``to(device)``, e.g. code grids drawn at random) is returned as
    it is."""
    if isinstance(data, BinaryImages) or hasattr(data, "batches"):
        return data
    if isinstance(data, torch.Tensor):
        return BinaryImages.from_tensor(data, name=name)
    raise TypeError(
        "data must be a vaebook.data.BinaryImages (e.g. BinarizedMNIST.load(...)) "
        f"or a tensor of images, got {type(data).__name__}"
    )
