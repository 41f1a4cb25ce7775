"""The trained VQ-VAE variants side by side, learned priors over the code grid, the
bound under any prior, and the EMA k-means toy (book/vq_vae).

The shipped VQ-VAEs differ in one setting each and train for the same number of
optimizer steps; :func:`variants_table` puts their settings, training length and
recorded test bound in one table, :func:`against` says which differences exceed the
evaluation noise. van den Oord et al. (2017) fit a PixelCNN prior over the codes after
training; the notes (2.4) keep the uniform prior. :class:`AutoregressiveCodePrior`
compares the two on MNIST, and :func:`ema_kmeans` shows the EMA codebook update of
:func:`vaebook.vq.ema_update` on toy points.

Shapes: B batch, N points, L code positions, K codebook size, C code dimension.
"""

from __future__ import annotations

import math

import pandas as pd
import torch
import torch.nn.functional as F
from torch import distributions as D
from torch import nn

from ..threads import one_thread
from ..training import TrainConfig, fit
from ..vq import VQVAE, VQVAEConfig, code_counts, ema_update, nearest_code


def setting(config: VQVAEConfig) -> str:
    """What a VQ-VAE's config changes from the paper's (the :class:`VQVAEConfig`
    defaults: beta 0.25, EMA decay gamma 0.99, no data init or restarts), in words:
    e.g. "beta 2", "gamma 0.9", "codebook loss", "data init + restarts"; "paper" when
    nothing."""
    paper, changes = VQVAEConfig(), []
    if config.commitment != paper.commitment:
        changes.append(f"beta {config.commitment:g}")
    if not config.ema:
        changes.append("codebook loss")
    elif config.decay != paper.decay:
        changes.append(f"gamma {config.decay:g}")
    if config.data_init or config.restart_below > 0:
        changes.append("data init + restarts")
    return ", ".join(changes) or "paper"


def variants_table(ckpts: dict) -> pd.DataFrame:
    """One row per trained VQ-VAE of ``ckpts`` {name: Checkpoint}.

    Columns: ``setting`` (:func:`setting`), the training length (``epochs``, optimizer
    ``steps``; ``train s``, the wall clock summed over the epochs, reported and not a
    budget), and the test bound recorded in the checkpoint on all its test images:
    ``-ELBO`` with its standard error ``± SE``, and ``-log p(x|z_q)``, the -ELBO less
    the uniform prior's constant KL = L log K (so it has the same standard error).
    """
    rows = {}
    for name, ckpt in ckpts.items():
        config, test, history = ckpt.model_config, ckpt.metrics["test"], ckpt.history
        kl = ckpt.model.num_positions * math.log(config.codebook_size)
        rows[name] = {
            "setting": setting(config),
            "epochs": len(history),
            "steps": history[-1].get("step", math.nan),
            "train s": sum(row["seconds"] for row in history),
            "-ELBO": test["neg_elbo"],
            "± SE": test["neg_elbo_se"],
            "-log p(x|z_q)": test["neg_elbo"] - kl,
        }
    return pd.DataFrame(rows).T.infer_objects()


def against(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each row of a :func:`variants_table` against its row ``reference``.

    ``difference``: the row's -ELBO minus the reference's (the same for -log p(x|z_q),
    since the KL is one constant); ``noise``: the two evaluation standard errors added;
    ``verdict``: "lower" or "higher" when the difference exceeds the noise, else
    "within noise" (the rule of :func:`vaebook.experiments.comparison.separated` for
    one seed); "reference" for the reference itself. The noise is that of the
    evaluation only: with one training run per variant, how much another seed would
    move a result is not measured.
    """
    ref = table.loc[reference]
    difference = table["-ELBO"] - ref["-ELBO"]
    noise = table["± SE"] + ref["± SE"]
    verdict = [
        "reference"
        if name == reference
        else "lower"
        if d < -n
        else "higher"
        if d > n
        else "within noise"
        for name, d, n in zip(table.index, difference, noise)
    ]
    return pd.DataFrame(
        {"difference": difference, "noise": noise, "verdict": verdict},
        index=table.index,
    )


class AutoregressiveCodePrior(nn.Module):
    """p(z) = prod_l p(z_l | z_<l) over the L codes of a grid in raster order, K codes
    each.

    A tiny stand-in for the paper's PixelCNN prior: the codes, shifted right by one (a
    start token K in front), are embedded, a stack of causal 1-D convolutions (left
    padding, so position l sees only z_<l) with residual ReLU layers mixes them, and a
    linear head gives the K logits of each position. A kernel longer than the grid's
    width lets each position see the one above it. ``log_prob`` (B, L) -> (B,);
    ``sample`` draws L positions in turn.
    """

    def __init__(
        self,
        codebook_size: int,
        num_positions: int,
        width: int = 32,
        kernel: int = 8,
        layers: int = 2,
    ):
        super().__init__()
        self.codebook_size, self.num_positions, self.kernel = (
            codebook_size,
            num_positions,
            kernel,
        )
        self.embed = nn.Embedding(codebook_size + 1, width)  # index K: the start token
        self.position = nn.Parameter(torch.zeros(num_positions, width))
        self.convs = nn.ModuleList(
            nn.Conv1d(width, width, kernel) for _ in range(layers)
        )
        self.head = nn.Linear(width, codebook_size)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of p(z_l | z_<l) for every position: (B, L) -> (B, L, K)."""
        start = torch.full_like(z[:, :1], self.codebook_size)
        h = (self.embed(torch.cat([start, z[:, :-1]], 1)) + self.position).transpose(
            1, 2
        )  # (B, W, L)
        for conv in self.convs:
            h = h + torch.relu(
                conv(F.pad(h, (self.kernel - 1, 0)))
            )  # causal: output l sees inputs <= l
        return self.head(h.transpose(1, 2))

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) = sum_l log p(z_l | z_<l): (B, L) -> (B,)."""
        return -F.cross_entropy(
            self.logits(z).transpose(1, 2), z, reduction="none"
        ).sum(1)

    @torch.no_grad()
    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        """Code grids drawn position by position: (n, L) for ``sample_shape`` (n,)."""
        n = int(torch.Size(sample_shape).numel())
        z = torch.zeros(
            n, self.num_positions, dtype=torch.long, device=self.position.device
        )
        with one_thread():
            for l in range(self.num_positions):
                z[:, l] = D.Categorical(logits=self.logits(z)[:, l]).sample()
        return z


class RandomCodeBatches:
    """Code grids (N, L) as a training set for :func:`vaebook.training.fit` whose
    batches are drawn with replacement: :meth:`batches` yields random minibatches
    without end (one generator seeded ``seed``), so a ``max_steps`` budget sets the
    training length."""

    def __init__(self, codes: torch.Tensor, seed: int = 0):
        self.codes, self.seed = codes, seed

    def __len__(self) -> int:
        return len(self.codes)

    def to(self, device) -> RandomCodeBatches:
        return RandomCodeBatches(self.codes.to(device), self.seed)

    def batches(self, batch_size: int, epoch: int = 0):
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            rows = torch.randint(len(self.codes), (batch_size,), generator=generator)
            yield self.codes[rows.to(self.codes.device)]


def code_prior_objective(prior, z: torch.Tensor, state) -> dict[str, torch.Tensor]:
    """Maximum likelihood for a prior over code grids: the loss is the batch mean of
    ``neg_log_prob`` = -log p(z), (B,)."""
    neg_log_prob = -prior.log_prob(z)
    return {"loss": neg_log_prob.mean(), "neg_log_prob": neg_log_prob}


def fit_autoregressive_prior(
    codes: torch.Tensor,
    codebook_size: int,
    steps: int = 100,
    batch_size: int = 200,
    lr: float = 1e-2,
    seed: int = 0,
    **options,
) -> tuple[AutoregressiveCodePrior, list]:
    """Train an :class:`AutoregressiveCodePrior` on code grids ``codes`` (N, L) by
    maximum likelihood with :func:`vaebook.training.fit` (Adam, ``steps``
    minibatches drawn at random, :class:`RandomCodeBatches`); returns it (eval mode)
    and the per-step mean -log p(z)."""
    torch.manual_seed(seed)  # the initial weights
    prior = AutoregressiveCodePrior(codebook_size, codes.shape[1], **options)
    config = TrainConfig(
        epochs=1,  # one endless epoch of random batches, ended by the step budget
        max_steps=steps,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=str(codes.device),
    )
    losses = []
    with one_thread():
        fit(
            prior,
            config,
            RandomCodeBatches(codes, seed),
            test=False,
            objective=code_prior_objective,
            optimizer=torch.optim.Adam(prior.parameters(), lr),  # not fused: the
            # chapter's numbers were made with this step
            callback=lambda state, out: losses.append(out["loss"].item()),
        )
    return prior.eval(), losses


@torch.no_grad()
def neg_elbo_under_prior(
    model: VQVAE, x: torch.Tensor, prior, batch_size: int = 1000
) -> dict[str, torch.Tensor]:
    """-ELBO of each image when the prior over code grids is ``prior`` (anything with
    ``log_prob`` (B, L) -> (B,)): q(z|x) is a point mass, so KL(q || p) = -log p(z_q)
    and -ELBO = -log p(x|z_q) - log p(z_q). Returns per-image (N,) ``reconstruction``,
    ``kl``, ``neg_elbo``."""
    model.eval()
    recon, kl = [], []
    for b in x.split(batch_size):
        z = model.codes(b)
        recon.append(-model.decode(z).log_prob(b))
        kl.append(-prior.log_prob(z))
    recon, kl = torch.cat(recon), torch.cat(kl)
    return {"reconstruction": recon, "kl": kl, "neg_elbo": recon + kl}


@torch.no_grad()
def ema_kmeans(
    batches: torch.Tensor, codebook: torch.Tensor, gamma: float, epsilon: float = 1e-5
) -> dict:
    """Vector quantization with an EMA codebook alone (no encoder to train): online
    k-means.

    ``batches`` (T, N, C) are the "encoder outputs" of T steps, ``codebook`` (K, C) the
    start (N_i = 1 and m_i = e_i, as in :class:`VQVAE`). Each step assigns every point
    to its nearest code and applies :func:`ema_update`. Returns the codebooks after each
    step ``trajectory`` (T + 1, K, C), the last step's assignment ``counts`` (K,) and
    the mean squared distance of each batch to its codes before the update,
    ``distortion`` (T,).
    """
    k = codebook.shape[0]
    cluster_size, embed_sum = torch.ones(k, dtype=codebook.dtype), codebook.clone()
    trajectory, distortion = [codebook.clone()], []
    with one_thread():
        for z_e in batches:
            idx = nearest_code(z_e, trajectory[-1])
            distortion.append((z_e - trajectory[-1][idx]).pow(2).sum(-1).mean())
            trajectory.append(
                ema_update(cluster_size, embed_sum, z_e, idx, gamma, epsilon)
            )
    return {
        "trajectory": torch.stack(trajectory),
        "counts": code_counts(idx, k),
        "distortion": torch.stack(distortion),
    }


def moving_clusters(
    steps: int = 600,
    batch_size: int = 64,
    num_clusters: int = 8,
    noise: float = 0.15,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Toy "encoder outputs" that drift like a VQ-VAE encoder's in training:
    ``num_clusters`` Gaussian clusters on a circle whose radius grows from 0.2 to about
    3 while it turns a quarter turn. Returns the batches (steps, batch_size, 2) and the
    centres (steps, num_clusters, 2)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(steps, dtype=torch.float32)[:, None]
    radius = 0.2 + 2.8 * (1 - torch.exp(-t / (steps / 4)))
    angle = (
        torch.arange(num_clusters) * 2 * math.pi / num_clusters
        + t / steps * math.pi / 2
    )
    centres = torch.stack([radius * angle.cos(), radius * angle.sin()], -1)  # (T, M, 2)
    labels = torch.randint(0, num_clusters, (steps, batch_size), generator=g)
    points = centres.gather(1, labels[..., None].expand(steps, batch_size, 2))
    return points + noise * torch.randn(steps, batch_size, 2, generator=g), centres
