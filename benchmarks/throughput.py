"""Training throughput: the pytorch/examples VAE recipe, its way and vaebook's way.

    python benchmarks/throughput.py [--epochs 1] [--device auto]

Both runs train the same model for the same epoch in one process: 784-400-20
(ReLU), batch 128, Adam 1e-3, binary cross-entropy on grey values plus the
Gaussian KL, as in https://github.com/pytorch/examples/blob/main/vae/main.py.

1. the recipe: ``DataLoader`` over ``torchvision.datasets.MNIST`` with ``ToTensor``;
2. vaebook's trainer (:func:`vaebook.training.fit`): the split held on the
   device as one tensor and batched by index, the fused Adam step.

It prints both times, the fraction of the measured fp32 matrix-multiply peak
that vaebook's epoch reaches (FLOPs of the linear layers, forward and
backward, over the time; the peak from a large ``torch.mm``), and the speedup.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from vaebook.data import BinarizedMNIST, data_root
from vaebook.models import VAEConfig
from vaebook.training import TrainConfig, fit, resolve_device

HIDDEN, LATENT, BATCH = 400, 20, 128


def linear_flops_per_epoch(n: int = 60_000) -> float:
    """Multiply-adds x 2 of 784-400-(2x20) and 20-400-784, forward + backward (about 3x forward)."""
    forward = 2 * (784 * HIDDEN + HIDDEN * 2 * LATENT + LATENT * HIDDEN + HIDDEN * 784)
    return 3 * forward * n


def matmul_peak(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """fp32 GFLOP/s of a size^3 ``torch.mm``, best of ``repeats``."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    best = float("inf")
    for _ in range(repeats + 2):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def grey_bce_objective(model, x, state):
    """The recipe's loss: BCE on grey values + KL (not a likelihood: grey values are not binary)."""
    qz = model.encode(x)
    z = qz.rsample()
    bce = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum(-1)
    kl = torch.distributions.kl_divergence(qz, model.prior())
    return {"loss": (bce + kl).mean(), "bce_plus_kl": bce + kl}


def recipe_epoch(device: torch.device) -> float:
    """One epoch the pytorch/examples way: a DataLoader over torchvision's MNIST with ToTensor."""
    from torchvision import datasets, transforms

    data = datasets.MNIST(str(data_root()), train=True, download=True, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True,
                                         **({"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}))
    torch.manual_seed(0)
    model = VAEConfig(hidden=(HIDDEN,), latent_dim=LATENT, activation="relu").build().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    sync(device)
    start = time.perf_counter()
    for x, _ in loader:
        x = x.to(device).view(-1, 784)
        loss = grey_bce_objective(model, x, None)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    sync(device)
    return time.perf_counter() - start


def vaebook_epoch(device: torch.device) -> float:
    train = BinarizedMNIST.load("train", "grey", device=device)
    torch.manual_seed(0)
    model = VAEConfig(hidden=(HIDDEN,), latent_dim=LATENT, activation="relu").build()
    history = fit(model, TrainConfig(epochs=1, batch_size=BATCH, binarization="grey", device=str(device)),
                  train, test=False, objective=grey_bce_objective)
    return history[0]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=2, help="epochs timed per method (the best is kept)")
    options = parser.parse_args()
    device = resolve_device(options.device)
    print(f"device: {device} | torch {torch.__version__} | threads: {torch.get_num_threads()}")
    peak = matmul_peak(device)
    print(f"fp32 torch.mm peak (2048^3, best of 10): {peak:.0f} GFLOP/s")
    recipe = min(recipe_epoch(device) for _ in range(options.repeats))
    print(f"pytorch/examples recipe (DataLoader + ToTensor), one epoch: {recipe:.2f} s")
    ours = min(vaebook_epoch(device) for _ in range(options.repeats))
    flops = linear_flops_per_epoch()
    print(f"vaebook trainer (tensor on device, fused Adam), one epoch:  {ours:.2f} s")
    print(f"linear-layer work: {flops / 1e9:.0f} GFLOP per epoch -> {flops / ours / 1e9:.0f} GFLOP/s, "
          f"{100 * flops / ours / 1e9 / peak:.0f} % of the fp32 matmul peak")
    print(f"speedup: {recipe / ours:.2f}x")


if __name__ == "__main__":
    main()
