"""Test-set numbers for any model: -ELBO and the importance-weighted NLL.

The NLL estimate is -L_S(x) with S importance samples (Burda et al. 2016 use
S = 5000), averaged over the test images; it is an upper bound on the true
NLL that tightens as S grows. Both numbers use one fixed binarization of the
test set (for dynamic binarization: one Bernoulli sample, seed 0), in nats.
"""

from __future__ import annotations

import math

import torch

from .data import BinaryImages, as_dataset
from .objectives import elbo, iw_bound
from .training import check_data_dim, progress_disabled


@torch.no_grad()
def evaluate(
    model,
    data: BinaryImages | torch.Tensor,
    iw_samples: int = 5000,
    batch_size: int | None = None,
    elbo_samples: int = 1,
) -> dict:
    """Mean test -ELBO and IW NLL (nats) of ``model`` on ``data``, standard errors.

    ``data``: :class:`vaebook.data.BinaryImages` or a tensor of images. The standard
    errors are std / sqrt(n) over the n images (``num_images``).
    """
    _check_sample_counts(iw_samples, elbo_samples)
    data = as_dataset(data, "test images")
    check_data_dim(model, data, "evaluation")
    model.eval()
    device = next(model.parameters()).device
    x_all = data.fixed().to(device)
    batch_size = batch_size or max(1, min(len(x_all), 200_000 // iw_samples))
    neg_elbo, nll = _per_image_bounds(
        model, x_all, batch_size, iw_samples, elbo_samples
    )
    return {
        **mean_and_se(neg_elbo=neg_elbo, iw_nll=nll),
        "iw_samples": iw_samples,
        "num_images": len(nll),
        "data": data.describe(fixed=True),
    }


def _check_sample_counts(iw_samples, elbo_samples) -> None:
    """Both sample counts are integers >= 1 (``iw_samples`` not a bool)."""
    if (
        isinstance(iw_samples, bool)
        or not isinstance(iw_samples, int)
        or iw_samples < 1
    ):
        raise ValueError(f"iw_samples must be an integer >= 1, got {iw_samples!r}")
    if elbo_samples < 1:
        raise ValueError(f"elbo_samples must be an integer >= 1, got {elbo_samples!r}")


def _per_image_bounds(
    model, x_all: torch.Tensor, batch_size: int, iw_samples: int, elbo_samples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """-ELBO and IW NLL per image (n,), batch by batch, with a progress bar."""
    from tqdm.auto import tqdm

    neg_elbo, nll = [], []
    for x in tqdm(
        x_all.split(batch_size),
        desc=f"IW NLL, S={iw_samples}",
        disable=progress_disabled(),
    ):
        neg_elbo.append(-elbo(model, x, elbo_samples).elbo)
        nll.append(-iw_bound(model, x, iw_samples))
    return torch.cat(neg_elbo), torch.cat(nll)


def mean_and_se(**values: torch.Tensor) -> dict[str, float]:
    """{name: mean, name_se: std / sqrt(n)} for each (n,) tensor of per-example values:
    the mean over n examples and its standard error (examples taken as independent)."""
    out = {}
    for name, v in values.items():
        out[name] = v.mean().item()
        out[f"{name}_se"] = (v.std() / len(v) ** 0.5).item() if len(v) > 1 else math.nan
    return out


@torch.no_grad()
def active_units(
    model, x: torch.Tensor, threshold: float = 0.01
) -> tuple[int, torch.Tensor]:
    """Burda et al. (2016): unit k is active if A_k = Cov_x(E_q[z_k|x]) > ``threshold``.

    Returns the count and the (K,) activities.
    """
    activity = model.encode(x).mean.var(0)
    return int((activity > threshold).sum()), activity
