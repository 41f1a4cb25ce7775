"""Figures shared by the chapters: images, latent spaces, training histories and bounds.

Each function returns a matplotlib Figure. Images are (N, 784) tensors of pixel
probabilities or binary pixels.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from torch import distributions as D

from ..training import column


def _tile(images: torch.Tensor, ncol: int) -> torch.Tensor:
    """(N, 784) -> one (rows*28, ncol*28) mosaic, padded with blank cells."""
    images = images.detach().float().cpu().reshape(-1, 28, 28)
    rows = math.ceil(len(images) / ncol)
    pad = torch.zeros(rows * ncol - len(images), 28, 28)
    grid = torch.cat([images, pad]).reshape(rows, ncol, 28, 28)
    return grid.permute(0, 2, 1, 3).reshape(rows * 28, ncol * 28)


def show_images(images: torch.Tensor, ncol: int = 10, title: str = "", ax=None, scale: float = 0.6):
    """A mosaic of MNIST-sized images on ``ax`` (a new figure if none); returns the figure."""
    mosaic = _tile(images, ncol)
    if ax is None:
        _, ax = plt.subplots(figsize=(scale * ncol, scale * mosaic.shape[0] / 28))
    ax.imshow(mosaic.detach().cpu().numpy(), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


@torch.no_grad()
def reconstructions(model, x: torch.Tensor, title: str = "") -> plt.Figure:
    """Inputs (top row) above the decoder's pixel probabilities at the posterior mean (bottom row)."""
    qz = model.encode(x)
    recon = model.decode(qz.mean).mean
    fig, axes = plt.subplots(2, 1, figsize=(0.6 * len(x), 1.6))
    show_images(x, len(x), "input x", axes[0])
    show_images(recon, len(x), "reconstruction: mean of p(x | z = E[z|x])", axes[1])
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


@torch.no_grad()
def prior_samples(model, num_samples: int = 40, ncol: int = 10, title: str = "") -> plt.Figure:
    """Decoded z ~ p(z): pixel probabilities of p(x|z)."""
    return show_images(model.sample(num_samples), ncol, title or f"{num_samples} samples: z ~ p(z), shown as E[x|z]")


@torch.no_grad()
def latent_scatter(model, x: torch.Tensor, labels: torch.Tensor, title: str = "") -> plt.Figure:
    """Posterior means E[z|x] coloured by digit; the first two principal axes when K > 2."""
    loc = model.encode(x).mean
    axis_names = ("z1", "z2")
    if loc.shape[-1] > 2:
        centred = loc - loc.mean(0)
        _, _, v = torch.linalg.svd(centred, full_matrices=False)
        loc = centred @ v[:2].T
        axis_names = ("first principal axis of E[z|x]", "second principal axis")
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    points = ax.scatter(loc[:, 0].detach().cpu().numpy(), loc[:, 1].detach().cpu().numpy(), c=labels.cpu().numpy(), cmap="tab10", s=3, alpha=0.7)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(title or f"E[z|x] of {len(x):,} test images", fontsize=10)
    return fig


@torch.no_grad()
def manifold(model, steps: int = 15, title: str = "") -> plt.Figure:
    """Decode a grid of latent quantiles of the 2-D prior (Kingma & Welling 2014, Fig. 4)."""
    if model.latent_dim != 2:
        raise ValueError(f"the manifold plot needs a 2-D latent space, this model has {model.latent_dim}")
    q = torch.linspace(0.5 / steps, 1 - 0.5 / steps, steps)
    values = D.Normal(0.0, 1.0).icdf(q)
    z1, z2 = torch.meshgrid(values, values.flip(0), indexing="xy")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=-1)
    device = next(model.parameters()).device
    images = model.decode(z.to(device)).mean
    fig = show_images(images, steps, title or "decoded latent quantiles (2-D latent space)", scale=0.4)
    return fig


@torch.no_grad()
def interpolation(model, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 10) -> plt.Figure:
    """Decode the straight line between the posterior means of two digits."""
    z_a, z_b = model.encode(x_a[None]).mean, model.encode(x_b[None]).mean
    t = torch.linspace(0, 1, steps, device=z_a.device)[:, None]
    images = model.decode((1 - t) * z_a + t * z_b).mean
    return show_images(images, steps, "decoded (1 - t) E[z|x_a] + t E[z|x_b], t from 0 to 1")


def learning_curves(history: list[dict], title: str = "") -> plt.Figure:
    """Train and test -ELBO per epoch, with the reconstruction and KL terms beside."""
    epochs = column(history, "epoch")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    for split, style in (("train", "-"), ("test", "--")):
        ax1.plot(epochs, column(history, f"{split}_neg_elbo"), style, label=f"{split} -ELBO")
        ax2.plot(epochs, [-v for v in column(history, f"{split}_log_px_given_z")], style, label=f"{split} -E[log p(x|z)]")
        ax2.plot(epochs, column(history, f"{split}_kl"), style, label=f"{split} KL")
    ax1.set_ylabel("nats per image")
    ax2.set_ylabel("nats per image")
    for ax in (ax1, ax2):
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    ax2.set_yscale("log")
    fig.suptitle(title or "learning curves", fontsize=10)
    fig.tight_layout()
    return fig


def compare_histories(histories: dict[str, list[dict]], key: str = "test_neg_elbo", title: str = "") -> plt.Figure:
    """One metric per epoch for several trained models (e.g. the test -ELBO)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for label, history in histories.items():
        ax.plot([row["epoch"] for row in history], [row[key] for row in history], "o-", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " ") + " (nats)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or key, fontsize=10)
    fig.tight_layout()
    return fig


def kl_per_dimension(kl: list[float] | torch.Tensor, threshold: float = 0.01, title: str = "") -> plt.Figure:
    """Bars of KL(q(z_k|x) || p(z_k)) averaged over the test set, sorted, with the active-unit cut."""
    kl = torch.as_tensor(kl).sort(descending=True).values
    fig, ax = plt.subplots(figsize=(8, 2.8))
    ax.bar(range(len(kl)), kl.tolist(), color=["C0" if v > threshold else "C7" for v in kl])
    ax.axhline(threshold, color="C3", lw=1, ls="--", label=f"{threshold} nats")
    ax.set_yscale("log")
    ax.set_xlabel("latent dimension (sorted)")
    ax.set_ylabel("KL, nats")
    ax.legend(fontsize=8)
    ax.set_title(title or f"KL per dimension: {int((kl > threshold).sum())} of {len(kl)} above {threshold}", fontsize=10)
    fig.tight_layout()
    return fig


@torch.no_grad()
def beta_panel(points: list[tuple[float, float, float]], beta: float, model, x: torch.Tensor) -> plt.Figure:
    """The KL weight's trade-off: rate-distortion curve with ``beta`` marked, its reconstructions and samples.

    ``points`` are (beta, rate = test KL, distortion = test -E[log p(x|z)]) for every trained beta.
    """
    fig = plt.figure(figsize=(10, 3.2))
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 1.6])
    ax = fig.add_subplot(grid[:, 0])
    betas, rates, distortions = zip(*sorted(points))
    ax.plot(rates, distortions, "o-", color="C7")
    for b, r, d in zip(betas, rates, distortions):
        ax.annotate(f"beta={b:g}", (r, d), fontsize=7, xytext=(3, 3), textcoords="offset points")
    rate, distortion = next((r, d) for b, r, d in points if b == beta)
    ax.plot([rate], [distortion], "o", color="C3", ms=10)
    ax.set_xlabel("rate: KL(q(z|x) || p(z)), nats")
    ax.set_ylabel("distortion: -E[log p(x|z)], nats")
    ax.set_title(f"beta = {beta:g}: rate {rate:.1f}, distortion {distortion:.1f}", fontsize=9)
    ax.grid(alpha=0.3)
    recon = model.decode(model.encode(x).mean).mean
    show_images(torch.cat([x, recon]), len(x), "inputs and reconstructions", fig.add_subplot(grid[0, 1]))
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)  # the same prior draws for every beta, so frames differ only by the model
    show_images(model.sample(2 * len(x)), len(x), "samples from p(z)", fig.add_subplot(grid[1, 1]))
    torch.random.set_rng_state(generator_state)
    return fig


def _ellipse(ax, loc, cov, color, label=None, num_std: float = 2.0):
    """The num_std-standard-deviation contour of N(loc, cov) in 2-D."""
    evals, evecs = torch.linalg.eigh(torch.as_tensor(cov, dtype=torch.float64))
    t = torch.linspace(0, 2 * math.pi, 100, dtype=torch.float64)
    circle = torch.stack([t.cos(), t.sin()])  # (2, 100)
    path = evecs @ (num_std * evals.clamp(min=0).sqrt()[:, None] * circle) + torch.as_tensor(loc).double()[:, None]
    ax.plot(path[0].numpy(), path[1].numpy(), color=color, lw=1.5, label=label)


@torch.no_grad()
def true_posterior(model, x: torch.Tensor, steps: int = 121, title: str = "") -> plt.Figure:
    """A 2-D latent model's true posterior p(z|x), with q(z|x)'s 2-sigma ellipse and the image.

    The posterior is located on a coarse grid over [-4, 4]^2, then drawn on a fine
    grid around it (its mean +- 4 standard deviations, or q's if q is wider).
    """
    from ..marginal import log_likelihood_matrix, posterior_on_grid

    probs, grid = posterior_on_grid(model, x[None], limit=4.0, steps=201)
    mean = probs[0] @ grid.points  # (2,)
    std = (probs[0] @ (grid.points - mean) ** 2).sqrt()
    qz = model.encode(x[None])
    half = max(4 * torch.maximum(std, qz.stddev[0]).max().item(), 0.1)
    axis1, axis2 = mean[0] + torch.linspace(-half, half, steps), mean[1] + torch.linspace(-half, half, steps)
    z1, z2 = torch.meshgrid(axis1, axis2, indexing="xy")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], -1).to(x.device)
    log_joint = log_likelihood_matrix(model.decode(z), x[None])[0] + model.prior().log_prob(z)
    density = torch.softmax(log_joint, 0).reshape(steps, steps).cpu()
    fig, (ax_img, ax) = plt.subplots(1, 2, figsize=(6.4, 3.0), gridspec_kw={"width_ratios": [1, 2.2]})
    show_images(x[None], 1, "x", ax_img)
    ax.contourf(axis1.numpy(), axis2.numpy(), density.numpy(), levels=12, cmap="Blues")
    _ellipse(ax, qz.mean[0].cpu(), torch.diag(qz.variance[0].cpu()), "C3", "q(z|x), 2 std")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or "p(z|x) on a grid (blue) and the encoder's q(z|x)", fontsize=9)
    fig.tight_layout()
    return fig


def bound_convergence(sample_sizes: list[int], estimates: dict[str, list[float]], exact: float | None = None,
                      title: str = "") -> plt.Figure:
    """Estimates of log p(x) against the number of samples (log axis), with the exact value as a line."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, values in estimates.items():
        ax.plot(sample_sizes, values, "o-", label=name)
    if exact is not None:
        ax.axhline(exact, color="k", ls="--", lw=1, label=f"exact (grid): {exact:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("number of samples S")
    ax.set_ylabel("nats per image")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def monte_carlo_convergence(sample_sizes: list[int], means: list[float], errors: list[float], exact: float,
                            title: str = "") -> plt.Figure:
    """A Monte Carlo estimate with a 2-standard-error band against its closed form."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    means_t, errors_t = torch.tensor(means), torch.tensor(errors)
    ax.fill_between(sample_sizes, (means_t - 2 * errors_t).numpy(), (means_t + 2 * errors_t).numpy(),
                    alpha=0.3, label="estimate +- 2 standard errors")
    ax.plot(sample_sizes, means, "o-", label="Monte Carlo estimate")
    ax.axhline(exact, color="k", ls="--", lw=1, label=f"closed form: {exact:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("number of samples")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


@torch.no_grad()
def beta_posteriors(model, x: torch.Tensor, beta: float, curve: list[tuple[float, float, float]]) -> plt.Figure:
    """Linear-Gaussian model: the beta-optimal q(z|x) of a few images beside p(z), and rate-distortion.

    ``curve`` holds (beta, rate, distortion) for a range of betas; ``beta`` is marked.
    """
    fig, (ax, ax_rd) = plt.subplots(1, 2, figsize=(9, 3.6))
    _ellipse(ax, torch.zeros(2), torch.eye(2), "k", "p(z), 2 std")
    qz = model.beta_posterior(x, beta)
    for n in range(len(x)):
        _ellipse(ax, qz.mean[n], qz.covariance_matrix[n], f"C{n}", f"q(z|x_{n + 1})")
        ax.plot(*qz.mean[n].tolist(), "o", color=f"C{n}", ms=3)
    ax.set_xlim(-4, 4)
    ax.set_ylim(-4, 4)
    ax.set_aspect("equal")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"beta = {beta:g}: the q that maximizes E[log p(x|z)] - beta KL", fontsize=9)
    betas, rates, distortions = zip(*curve)
    ax_rd.plot(rates, distortions, "-", color="C7")
    rate, distortion = next((r, d) for b, r, d in curve if b == beta)
    ax_rd.plot([rate], [distortion], "o", color="C3", ms=9)
    ax_rd.set_xlabel("rate: KL(q(z|x) || p(z)), nats")
    ax_rd.set_ylabel("distortion: -E[log p(x|z)], nats")
    ax_rd.set_title(f"rate {rate:.2f}, distortion {distortion:.2f} (mean over the test images)", fontsize=9)
    ax_rd.grid(alpha=0.3)
    fig.tight_layout()
    return fig
