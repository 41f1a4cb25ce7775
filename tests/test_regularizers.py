"""The Gaussian KL in closed form, by Monte Carlo, and the notes' L2 alternative."""

import pytest
import torch
from torch import distributions as D

from vaebook.data import BinarizedMNIST
from vaebook.regularizers import (
    L2RegularizedVAEConfig,
    gaussian_kl,
    monte_carlo_kl,
    parameter_l2,
)
from vaebook.training import TrainConfig, TrainState, fit


def test_closed_form_kl_matches_torch_and_monte_carlo():
    loc, scale = torch.tensor([0.0, 1.5, -2.0, 0.3]), torch.tensor([1.0, 0.5, 2.0, 0.1])
    closed = gaussian_kl(loc, scale)
    assert torch.allclose(
        closed, D.kl_divergence(D.Normal(loc, scale), D.Normal(0.0, 1.0))
    )
    assert closed[0] == 0 and (closed[1:] > 0).all()
    torch.manual_seed(0)
    estimate, se = monte_carlo_kl(D.Normal(loc, scale), D.Normal(0.0, 1.0), 100_000)
    assert ((estimate - closed).abs() < 4 * se + 1e-6).all()


def test_the_l2_penalty_is_zero_only_at_the_prior_and_bounded_as_sigma_collapses():
    assert parameter_l2(torch.tensor(0.0), torch.tensor(1.0)) == 0
    tiny = torch.tensor(1e-4)
    assert (
        parameter_l2(torch.tensor(0.0), tiny)
        < 1.0
        < gaussian_kl(torch.tensor(0.0), tiny)
    )


def test_l2_model_objective_and_training():
    torch.manual_seed(0)
    model = L2RegularizedVAEConfig(hidden=(32,), latent_dim=4).build()
    x = BinarizedMNIST.load("test", limit=64).fixed()
    state = TrainState(TrainConfig(beta=0.5))
    torch.manual_seed(1)
    out = model.objective(x, state)
    qz = model.encode(x)
    penalty = ((qz.mean**2) + (qz.stddev - 1) ** 2).sum(-1)
    assert torch.allclose(out["l2_penalty"], penalty)
    assert torch.allclose(out["kl"], D.kl_divergence(qz, model.prior()))
    assert torch.allclose(out["loss"], -(out["log_px_given_z"] - 0.5 * penalty).mean())
    data = (
        BinarizedMNIST.load("train", limit=1000),
        BinarizedMNIST.load("test", limit=200),
    )
    history = fit(model, TrainConfig(epochs=2, device="cpu"), *data)
    assert history[1]["test_neg_elbo"] < history[0]["test_neg_elbo"]
    assert "test_l2_penalty" in history[-1]


def test_monte_carlo_kl_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        monte_carlo_kl(D.Normal(0.0, 1.0), D.Normal(0.0, 1.0), 1)
