"""Training on the importance-weighted bound (TrainConfig.objective = "iwae") and
starting a run from another checkpoint's weights (--init-from): against
vaebook.objectives.iw_bound, the analytic KL, and the weights loaded."""

import math

import pytest
import torch
from cli_errors import one_line_error

from vaebook import train
from vaebook.checkpoints import save_checkpoint
from vaebook.distributions import kl_divergence
from vaebook.models import VAEConfig
from vaebook.objectives import iw_bound, iw_terms
from vaebook.training import TrainConfig, TrainState, default_objective, iwae_objective


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return VAEConfig(data_dim=12, hidden=(16,), latent_dim=3).build()


def binary_batch(n=8, seed=1):
    return (
        torch.rand(n, 12, generator=torch.Generator().manual_seed(seed)) < 0.4
    ).float()


def test_the_training_bound_is_iw_bound_on_the_same_draws():
    model, x = tiny_model(), binary_batch()
    for S in (1, 7, 50):
        torch.manual_seed(3)
        ours = iw_terms(model, x, S).bound()
        torch.manual_seed(3)
        reference = iw_bound(model, x, S)
        torch.testing.assert_close(ours, reference)


def test_its_gradient_is_the_gradient_of_iw_bound():
    x = binary_batch()
    grads = []
    for loss_of in (
        lambda m: iwae_objective(m, x, TrainState(TrainConfig(num_samples=10)))["loss"],
        lambda m: -iw_bound(m, x, 10).mean(),
    ):
        model = tiny_model()
        torch.manual_seed(5)
        loss_of(model).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(grads[0], grads[1])


def test_one_sample_with_a_kl_weight_is_the_beta_elbo_of_that_sample():
    model, x = tiny_model(), binary_batch()
    torch.manual_seed(2)
    terms = iw_terms(model, x, 1)
    expected = terms.log_px_given_z[0] + 0.3 * terms.log_ratio[0]
    torch.testing.assert_close(terms.bound(0.3), expected)


def test_the_logged_kl_is_a_monte_carlo_kl_within_its_standard_error():
    model, x = tiny_model(), binary_batch(n=4)
    torch.manual_seed(0)
    S = 20_000
    terms = iw_terms(model, x, S)
    mc = -terms.log_ratio  # log q - log p per sample, (S, B)
    exact = kl_divergence(model.encode(x), model.prior())
    se = mc.std(0) / math.sqrt(S)
    assert ((terms.elbo_terms().kl - exact).abs() < 4 * se).all()


def test_the_iwae_objective_is_refused_where_it_does_not_apply():
    with pytest.raises(ValueError, match="objective must be one of"):
        TrainConfig(objective="iwea")

    class OwnObjective(torch.nn.Module):
        def objective(self, x, state):
            return {}

    with pytest.raises(ValueError, match="its own objective"):
        default_objective(OwnObjective(), TrainConfig(objective="iwae"))

    class TwoLayers(torch.nn.Module):
        def elbo_terms(self, x, num_samples):
            return None

    with pytest.raises(ValueError, match="one latent layer"):
        iw_terms(TwoLayers(), binary_batch(), 5)


def test_a_short_iwae_run_raises_its_bound(tmp_path):
    """Fifty steps of IWAE (S = 5) on MNIST raise the training bound."""
    from vaebook.data import BinarizedMNIST
    from vaebook.training import fit

    data = BinarizedMNIST.load("train", "dynamic", 0, "cpu", 2000)
    model = VAEConfig(hidden=(64,), latent_dim=8).build()
    config = TrainConfig(
        epochs=3, objective="iwae", num_samples=5, lr=3e-3, device="cpu"
    )
    history = fit(model, config, data, None)
    bounds = [row["train_neg_iw_bound"] for row in history]
    assert bounds[-1] < bounds[0] - 20, bounds
    assert all(r["train_neg_iw_bound"] <= r["train_neg_elbo"] for r in history)


def saved_tiny(tmp_path, hidden=(32,)):
    torch.manual_seed(11)
    model = VAEConfig(hidden=hidden, latent_dim=2).build()
    path = tmp_path / f"start-{len(hidden)}.pt"
    save_checkpoint(path, model, TrainConfig(), [])
    return model, path


def test_init_from_starts_at_the_checkpoint_weights(tmp_path):
    start, path = saved_tiny(tmp_path)
    argv = ["gaussian-vae", "--hidden", "32", "--latent-dim", "2", "--train-limit"]
    argv += ["100", "--out", str(tmp_path / "run.pt"), "--init-from", str(path)]
    run = train.prepare(argv)
    assert run.initialized
    for name, value in start.state_dict().items():
        torch.testing.assert_close(run.model.state_dict()[name], value)
    fresh = train.prepare(argv[:-2])
    assert not fresh.initialized
    differs = fresh.model.state_dict()["encoder.0.weight"]
    assert not torch.equal(differs, start.state_dict()["encoder.0.weight"])


def test_init_from_a_checkpoint_of_another_model_is_refused(tmp_path, capsys):
    _, path = saved_tiny(tmp_path, hidden=(16, 16))
    argv = ["gaussian-vae", "--hidden", "32", "--latent-dim", "2", "--train-limit"]
    argv += ["100", "--out", str(tmp_path / "run.pt")]
    one_line_error(
        capsys, train.main, argv + ["--init-from", str(path)], "hidden", "(16, 16)"
    )
    one_line_error(
        capsys, train.main, argv + ["--init-from", "no_such_run"], "no_such_run"
    )
