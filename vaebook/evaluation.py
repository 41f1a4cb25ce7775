"""Test-set numbers for any model: -ELBO and the importance-weighted NLL.

The NLL estimate is -L_S(x) with S importance samples (Burda et al. 2016 use
S = 5000), averaged over the test images; it is an upper bound on the true
NLL that tightens as S grows. Both numbers use one fixed binarization of the
test set (for dynamic binarization: one Bernoulli sample, seed 0), in nats.
"""
from __future__ import annotations

import torch

from .data import BinarizedMNIST
from .objectives import elbo, iw_bound
from .training import progress_disabled


@torch.no_grad()
def evaluate(model, data: BinarizedMNIST, iw_samples: int = 5000, batch_size: int | None = None,
             elbo_samples: int = 1) -> dict:
    """Mean test -ELBO and IW NLL (nats) of ``model`` on ``data`` with their standard errors."""
    if iw_samples < 1:
        raise ValueError(f"iw_samples must be at least 1, got {iw_samples}")
    from tqdm.auto import tqdm

    model.eval()
    device = next(model.parameters()).device
    x_all = data.fixed().to(device)
    batch_size = batch_size or max(1, min(len(x_all), 200_000 // iw_samples))
    neg_elbo, nll = [], []
    for x in tqdm(x_all.split(batch_size), desc=f"IW NLL, S={iw_samples}", disable=progress_disabled()):
        neg_elbo.append(-elbo(model, x, elbo_samples).elbo)
        nll.append(-iw_bound(model, x, iw_samples))
    neg_elbo, nll = torch.cat(neg_elbo), torch.cat(nll)
    n = len(nll)
    return {
        "neg_elbo": neg_elbo.mean().item(), "neg_elbo_se": (neg_elbo.std() / n**0.5).item(),
        "iw_nll": nll.mean().item(), "iw_nll_se": (nll.std() / n**0.5).item(),
        "iw_samples": iw_samples, "num_images": n, "data": data.describe(fixed=True),
    }


@torch.no_grad()
def active_units(model, x: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Burda et al. (2016): unit k is active if A_k = Cov_x(E_q[z_k|x]) > ``threshold``.

    Returns the count and the (K,) activities.
    """
    activity = model.encode(x).mean.var(0)
    return int((activity > threshold).sum()), activity
