"""Figures shared by the chapters: images, latent spaces, training histories and bounds.

Each function returns a matplotlib Figure. Images are (N, 784) tensors of pixel
probabilities or binary pixels.

Sizes are for the book's text column: figures are at most ``WIDTH`` inches wide
(shown at their natural size at 100 dpi) and no text is smaller than ``FONT``
points (both from :mod:`vaebook.plots.style`). The slider figures
(:class:`PosteriorFigure`, :class:`BetaPosteriorFigure`) build their artists once
and update them in place.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator
from torch import distributions as D

from ..training import column
from .style import FONT, WIDTH, SliderFigure, freeze_layout


def _tile(images: torch.Tensor, ncol: int) -> torch.Tensor:
    """(N, 784) -> one (rows*28, ncol*28) mosaic, padded with blank cells."""
    images = images.detach().float().cpu().reshape(-1, 28, 28)
    rows = math.ceil(len(images) / ncol)
    pad = torch.zeros(rows * ncol - len(images), 28, 28)
    grid = torch.cat([images, pad]).reshape(rows, ncol, 28, 28)
    return grid.permute(0, 2, 1, 3).reshape(rows * 28, ncol * 28)


def show_images(
    images: torch.Tensor, ncol: int = 10, title: str = "", ax=None, scale: float = 0.6
):
    """A mosaic of MNIST-sized images on ``ax`` (a new figure if none); returns it.

    A new figure gives each image ``scale`` inches, less if the row would be
    wider than the column.
    """
    mosaic = _tile(images, ncol)
    if ax is None:
        scale = min(scale, WIDTH / ncol)
        _, ax = plt.subplots(figsize=(scale * ncol, scale * mosaic.shape[0] / 28))
    ax.imshow(
        mosaic.detach().cpu().numpy(),
        cmap="gray_r",
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


@torch.no_grad()
def reconstructions(model, x: torch.Tensor, title: str = "") -> plt.Figure:
    """Inputs (top row) above the decoder's pixel probabilities at E[z|x]."""
    qz = model.encode(x)
    recon = model.decode(qz.mean).mean
    scale = min(0.6, WIDTH / len(x))
    fig, axes = plt.subplots(2, 1, figsize=(scale * len(x), 2 * scale + 0.6))
    show_images(x, len(x), "input x", axes[0])
    show_images(recon, len(x), "reconstruction: mean of p(x | z = E[z|x])", axes[1])
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


@torch.no_grad()
def prior_samples(
    model, num_samples: int = 40, ncol: int = 10, title: str = ""
) -> plt.Figure:
    """Decoded z ~ p(z): pixel probabilities of p(x|z)."""
    title = title or f"{num_samples} samples: z ~ p(z), shown as E[x|z]"
    return show_images(model.sample(num_samples), ncol, title)


@torch.no_grad()
def latent_scatter(
    model, x: torch.Tensor, labels: torch.Tensor, title: str = ""
) -> plt.Figure:
    """Posterior means E[z|x] coloured by digit; two principal axes when K > 2."""
    loc = model.encode(x).mean
    axis_names = ("z1", "z2")
    if loc.shape[-1] > 2:
        centred = loc - loc.mean(0)
        _, _, v = torch.linalg.svd(centred, full_matrices=False)
        loc = centred @ v[:2].T
        axis_names = ("first principal axis of E[z|x]", "second principal axis")
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    loc = loc.detach().cpu()
    points = ax.scatter(
        loc[:, 0].numpy(),
        loc[:, 1].numpy(),
        c=labels.cpu().numpy(),
        cmap="tab10",
        s=3,
        alpha=0.7,
    )
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title(title or f"E[z|x] of {len(x):,} test images", fontsize=10)
    return fig


@torch.no_grad()
def manifold(model, steps: int = 15, title: str = "") -> plt.Figure:
    """Decode a grid of quantiles of the 2-D prior (Kingma & Welling 2014, Fig. 4)."""
    if model.latent_dim != 2:
        raise ValueError(
            "the manifold plot needs a 2-D latent space, "
            f"this model has {model.latent_dim}"
        )
    q = torch.linspace(0.5 / steps, 1 - 0.5 / steps, steps)
    values = D.Normal(0.0, 1.0).icdf(q)
    z1, z2 = torch.meshgrid(values, values.flip(0), indexing="xy")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=-1)
    device = next(model.parameters()).device
    images = model.decode(z.to(device)).mean
    title = title or "decoded latent quantiles (2-D latent space)"
    return show_images(images, steps, title, scale=0.4)


@torch.no_grad()
def interpolation(
    model, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 10
) -> plt.Figure:
    """Decode the straight line between the posterior means of two digits."""
    z_a, z_b = model.encode(x_a[None]).mean, model.encode(x_b[None]).mean
    t = torch.linspace(0, 1, steps, device=z_a.device)[:, None]
    images = model.decode((1 - t) * z_a + t * z_b).mean
    return show_images(
        images, steps, "decoded (1 - t) E[z|x_a] + t E[z|x_b], t from 0 to 1"
    )


def learning_curves(history: list[dict], title: str = "") -> plt.Figure:
    """Train and test -ELBO per epoch, with the reconstruction and KL terms beside."""
    epochs = column(history, "epoch")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(WIDTH, 3.2))
    for split, style in (("train", "-"), ("test", "--")):
        ax1.plot(
            epochs, column(history, f"{split}_neg_elbo"), style, label=f"{split} -ELBO"
        )
        recon = [-v for v in column(history, f"{split}_log_px_given_z")]
        ax2.plot(epochs, recon, style, label=f"{split} -E[log p(x|z)]")
        ax2.plot(epochs, column(history, f"{split}_kl"), style, label=f"{split} KL")
    ax1.set_ylabel("nats per image")
    ax2.set_ylabel("nats per image")
    for ax in (ax1, ax2):
        ax.set_xlabel("epoch")
        ax.legend(fontsize=FONT)
        ax.grid(alpha=0.3)
    ax2.set_yscale("log")
    fig.suptitle(title or "learning curves", fontsize=10)
    fig.tight_layout()
    return fig


def compare_histories(
    histories: dict[str, list[dict]], key: str = "test_neg_elbo", title: str = ""
) -> plt.Figure:
    """One metric per epoch for several trained models (e.g. the test -ELBO)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for label, history in histories.items():
        ax.plot(
            [row["epoch"] for row in history],
            [row[key] for row in history],
            "o-",
            ms=3,
            label=label,
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " ") + " (nats)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT)
    ax.set_title(title or key, fontsize=10)
    fig.tight_layout()
    return fig


def kl_per_dimension(
    kl: list[float] | torch.Tensor, threshold: float = 0.01, title: str = ""
) -> plt.Figure:
    """Bars of KL(q(z_k|x) || p(z_k)) averaged over the test set, sorted, with the
    active-unit cut."""
    kl = torch.as_tensor(kl).sort(descending=True).values
    fig, ax = plt.subplots(figsize=(WIDTH, 2.8))
    ax.bar(
        range(len(kl)), kl.tolist(), color=["C0" if v > threshold else "C7" for v in kl]
    )
    ax.axhline(threshold, color="C3", lw=1, ls="--", label=f"{threshold} nats")
    ax.set_yscale("log")
    ax.set_xlabel("latent dimension (sorted)")
    ax.set_ylabel("KL, nats")
    ax.legend(fontsize=FONT)
    active = int((kl > threshold).sum())
    ax.set_title(
        title or f"KL per dimension: {active} of {len(kl)} above {threshold}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _ellipse_path(loc, cov, num_std: float = 2.0) -> tuple[list[float], list[float]]:
    """The num_std-standard-deviation contour of N(loc, cov) in 2-D, as (xs, ys)."""
    evals, evecs = torch.linalg.eigh(torch.as_tensor(cov, dtype=torch.float64))
    t = torch.linspace(0, 2 * math.pi, 100, dtype=torch.float64)
    circle = torch.stack([t.cos(), t.sin()])  # (2, 100)
    radii = num_std * evals.clamp(min=0).sqrt()[:, None]
    path = evecs @ (radii * circle) + torch.as_tensor(loc).double()[:, None]
    return path[0].tolist(), path[1].tolist()


def _ellipse(ax, loc, cov, color, label=None, num_std: float = 2.0):
    """Draw the num_std-standard-deviation contour of N(loc, cov); returns the line."""
    (line,) = ax.plot(
        *_ellipse_path(loc, cov, num_std), color=color, lw=1.5, label=label
    )
    return line


@torch.no_grad()
def posterior_windows(model, x: torch.Tensor, steps: int = 101) -> list[dict]:
    """For each image of x (N, D): the true posterior p(z|x) of a 2-D latent model on a
    fine ``steps`` x ``steps`` window around it, and the encoder's q(z|x).

    The posterior is located on a coarse grid over [-4, 4]^2 (one decoder pass for
    all images), then evaluated on a window centred on its mean, +- 4 standard
    deviations of the posterior or of q, whichever is wider. Returns dicts with
    ``extent`` (z1 min, z1 max, z2 min, z2 max), ``density`` (steps, steps; rows are
    z2), ``q_loc`` (2,) and ``q_cov`` (2, 2).
    """
    from ..marginal import posterior_on_grid

    probs, grid = posterior_on_grid(model, x, limit=4.0, steps=201)  # (N, G)
    points = grid.points
    mean = probs @ points  # (N, 2)
    std = (probs @ points**2 - mean**2).clamp(min=0).sqrt()
    qz = model.encode(x)
    unit = torch.linspace(-1, 1, steps, device=x.device)
    return [
        _posterior_window(model, x[n : n + 1], mean[n], std[n], qz, n, unit)
        for n in range(len(x))
    ]


def _posterior_window(model, x_n, mean_n, std_n, qz, n: int, unit) -> dict:
    """One image's window (see :func:`posterior_windows`): ``x_n`` (1, D), the
    posterior's mean and std (2,), q of all images, ``unit`` the window's grid in
    [-1, 1]."""
    from ..marginal import log_likelihood_matrix

    steps = len(unit)
    half = max(4 * torch.maximum(std_n, qz.stddev[n]).max().item(), 0.1)
    axis1, axis2 = mean_n[0] + half * unit, mean_n[1] + half * unit
    z1, z2 = torch.meshgrid(axis1, axis2, indexing="xy")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], -1)
    log_joint = log_likelihood_matrix(model.decode(z), x_n)[0]
    log_joint = log_joint + model.prior().log_prob(z)
    density = torch.softmax(log_joint, 0).reshape(steps, steps).cpu()
    return {
        "extent": (
            axis1[0].item(),
            axis1[-1].item(),
            axis2[0].item(),
            axis2[-1].item(),
        ),
        "density": density,
        "image": x_n[0].cpu(),
        "q_loc": qz.mean[n].cpu(),
        "q_cov": torch.diag(qz.variance[n].cpu()),
    }


class PosteriorFigure(SliderFigure):
    """A 2-D latent model's true posterior beside the image, one image at a time.

    ``PosteriorFigure(model, x)`` computes the posteriors of every image of x
    (N, D) once (:func:`posterior_windows`); ``draw(index)`` draws that image's
    posterior into one Figure, the same object on every call, by updating its
    artists in place (:class:`~vaebook.plots.style.SliderFigure`).
    """

    def __init__(self, model, x: torch.Tensor, steps: int = 101):
        if model.latent_dim != 2:
            raise ValueError(
                "the posterior figure needs a 2-D latent space, "
                f"this model has {model.latent_dim}"
            )
        self.windows = posterior_windows(model, x, steps)
        self.fig = None
        self.frozen = False

    def _build(self, window: dict) -> None:
        self.fig = fig = plt.figure(figsize=(6.0, 3.4))
        ax_img = fig.add_axes((0.0, 0.14, 0.32, 0.70))
        # square (aspect equal), its x label inside the canvas (else every frame
        # goes through savefig's tight layout, not the fast path of vaebook.widgets)
        self.ax = ax = fig.add_axes((0.42, 0.14, 0.56, 0.74))
        self.image = ax_img.imshow(
            window["image"].reshape(28, 28).numpy(),
            cmap="gray_r",
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        ax_img.set_axis_off()
        ax_img.set_title("x", fontsize=10)
        self.density = ax.imshow(
            window["density"].numpy(),
            extent=window["extent"],
            origin="lower",
            cmap="Blues",
            interpolation="bilinear",
        )
        self.q_line = _ellipse(
            ax, window["q_loc"], window["q_cov"], "C3", "q(z|x), 2 std"
        )
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        for axis in (ax.xaxis, ax.yaxis):  # each image has its own window: few labels
            axis.set_major_locator(MaxNLocator(nbins=4))
        ax.legend(fontsize=FONT, loc="lower right")
        self.title = fig.suptitle("", fontsize=10)

    def draw(self, index: int, title: str = "") -> plt.Figure:
        if not 0 <= index < len(self.windows):
            raise ValueError(
                f"image index must be in [0, {len(self.windows) - 1}], got {index}"
            )
        window = self.windows[index]
        if self.fig is None:
            self._build(window)
        self.image.set_data(window["image"].reshape(28, 28).numpy())
        self.density.set_data(window["density"].numpy())
        self.density.set_extent(window["extent"])
        self.density.set_clim(0, window["density"].max().item())
        self.q_line.set_data(*_ellipse_path(window["q_loc"], window["q_cov"]))
        self.ax.set_xlim(window["extent"][:2])
        self.ax.set_ylim(window["extent"][2:])
        self.title.set_text(title or "p(z|x) on a grid (blue) and the encoder's q(z|x)")
        if not self.frozen:  # the first frame fixes the layout of all others
            freeze_layout(self.fig)
            self.frozen = True
        return self.fig


def bound_convergence(
    sample_sizes: list[int],
    estimates: dict[str, list[float]],
    exact: float | None = None,
    title: str = "",
) -> plt.Figure:
    """Estimates of log p(x) against the number of samples (log axis), and the exact
    value."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for name, values in estimates.items():
        ax.plot(sample_sizes, values, "o-", label=name)
    if exact is not None:
        ax.axhline(exact, color="k", ls="--", lw=1, label=f"exact (grid): {exact:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("number of samples S")
    ax.set_ylabel("nats per image")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def monte_carlo_convergence(
    sample_sizes: list[int],
    means: list[float],
    errors: list[float],
    exact: float,
    title: str = "",
) -> plt.Figure:
    """A Monte Carlo estimate with a 2-standard-error band against its closed form."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    means_t, errors_t = torch.tensor(means), torch.tensor(errors)
    ax.fill_between(
        sample_sizes,
        (means_t - 2 * errors_t).numpy(),
        (means_t + 2 * errors_t).numpy(),
        alpha=0.3,
        label="estimate +- 2 standard errors",
    )
    ax.plot(sample_sizes, means, "o-", label="Monte Carlo estimate")
    ax.axhline(exact, color="k", ls="--", lw=1, label=f"closed form: {exact:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("number of samples")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


class BetaPosteriorFigure(SliderFigure):
    """Linear-Gaussian model: the beta-optimal q(z|x) of a few images beside p(z), and
    the rate-distortion curve with ``beta`` marked.

    ``curve`` holds (beta, rate, distortion) for a range of betas. ``draw(beta)``
    updates one Figure in place and returns it (the same object every call;
    :class:`~vaebook.plots.style.SliderFigure`).
    """

    @torch.no_grad()
    def __init__(self, model, x: torch.Tensor, curve: list[tuple[float, float, float]]):
        self.x, self.curve = x, curve
        self.paths = {}  # beta -> ([ellipse (xs, ys)], [mean (x, y)]): computed once
        for beta, _, _ in curve:
            qz = model.beta_posterior(x, beta)
            self.paths[beta] = (
                [_ellipse_path(m, c) for m, c in zip(qz.mean, qz.covariance_matrix)],
                qz.mean.tolist(),
            )
        self.fig = None
        self.frozen = False

    def _build(self) -> None:
        self.fig = fig = plt.figure(figsize=(WIDTH, 3.4))
        ax = fig.add_axes((0.08, 0.15, 0.36, 0.72))
        ax_rd = fig.add_axes((0.60, 0.15, 0.37, 0.72))
        _ellipse(ax, torch.zeros(2), torch.eye(2), "k", "p(z), 2 std")
        self.lines, self.points = [], []
        for n in range(len(self.x)):
            label = f"q(z|x_n), n = 1..{len(self.x)}" if n == 0 else None
            self.lines.append(
                _ellipse(ax, torch.zeros(2), torch.eye(2), f"C{n}", label)
            )
            self.points.append(ax.plot([0.0], [0.0], "o", color=f"C{n}", ms=3)[0])
        ax.set_xlim(-4, 4)
        ax.set_ylim(-4, 4)
        ax.set_aspect("equal")
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        ax.legend(fontsize=FONT, loc="upper left")
        self.title = ax.set_title("", fontsize=10)
        _, rates, distortions = zip(*self.curve)
        ax_rd.plot(rates, distortions, "-", color="C7")
        (self.marker,) = ax_rd.plot([0.0], [0.0], "o", color="C3", ms=9)
        ax_rd.set_xlabel("rate: KL(q(z|x) || p(z)), nats")
        ax_rd.set_ylabel("distortion: -E[log p(x|z)], nats")
        self.rd_title = ax_rd.set_title("", fontsize=10)
        ax_rd.grid(alpha=0.3)

    def draw(self, beta: float) -> plt.Figure:
        if beta not in self.paths:
            raise ValueError(
                f"beta must be one of the curve's betas {list(self.paths)}, got {beta}"
            )
        if self.fig is None:
            self._build()
        ellipses, means = self.paths[beta]
        for line, point, path, (m1, m2) in zip(
            self.lines, self.points, ellipses, means
        ):
            line.set_data(*path)
            point.set_data([m1], [m2])
        rate, distortion = next((r, d) for b, r, d in self.curve if b == beta)
        self.marker.set_data([rate], [distortion])
        self.title.set_text(f"beta = {beta:g}: the beta-optimal q(z|x)")
        self.rd_title.set_text(f"rate {rate:.2f}, distortion {distortion:.1f}")
        if not self.frozen:  # the first frame fixes the layout of all others
            freeze_layout(self.fig)
            self.frozen = True
        return self.fig
