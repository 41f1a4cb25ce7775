"""vaebook.priors and vaebook.hierarchical: mixture and VampPrior priors checked
against explicit sums, the Monte Carlo KL against closed forms, and the two-layer
VAE's ELBO and IW bound against a direct computation and numerical integration."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import distributions as D

from vaebook.aggregate import (
    aggregate_posterior,
    elbo_decomposition,
    grid_log_densities,
    prior_hole_mass,
    unit_activity,
)
from vaebook.data import BinarizedMNIST
from vaebook.distributions import kl_divergence
from vaebook.hierarchical import TwoLayerConfig, TwoLayerVAE
from vaebook.models import MIN_SCALE, VAEConfig
from vaebook.objectives import elbo, iw_bound, log_importance_weights
from vaebook.priors import GaussianMixture, MixturePrior, VampPrior, build_prior
from vaebook.training import TrainConfig, fit


def explicit_mixture_log_prob(logits, loc, scale, z):
    """log sum_c pi_c prod_k N(z_k; mu_ck, s_ck), written out: z (N, K) -> (N,)."""
    log_pi = logits - torch.logsumexp(logits, 0)
    terms = []
    for c in range(len(logits)):
        log_n = (
            -0.5 * ((z - loc[c]) / scale[c]) ** 2
            - scale[c].log()
            - 0.5 * math.log(2 * math.pi)
        ).sum(-1)
        terms.append(log_pi[c] + log_n)
    return torch.logsumexp(torch.stack(terms), dim=0)


def test_mixture_log_density_is_the_explicit_sum():
    g = torch.Generator().manual_seed(0)
    logits, loc = torch.randn(4, generator=g), 2 * torch.randn(4, 3, generator=g)
    scale = 0.05 + torch.rand(4, 3, generator=g)  # small scales: the float64 path
    z = 3 * torch.randn(2, 5, 3, generator=g)  # (S, B, K)
    mixture = GaussianMixture(logits, loc, scale)
    got = mixture.log_prob(z)
    assert got.shape == (2, 5)
    want = explicit_mixture_log_prob(logits, loc, scale, z.reshape(-1, 3))
    torch.testing.assert_close(got.reshape(-1), want, rtol=1e-5, atol=1e-4)
    # and torch's own MixtureSameFamily agrees
    plain = D.MixtureSameFamily(
        D.Categorical(logits=logits), D.Independent(D.Normal(loc, scale), 1)
    )
    torch.testing.assert_close(got, plain.log_prob(z), rtol=1e-5, atol=1e-4)


def test_mixture_prior_is_a_normalized_learned_mixture():
    torch.manual_seed(0)
    prior = MixturePrior(3, 2).prior()
    assert isinstance(prior, D.MixtureSameFamily) and prior.event_shape == (2,)
    # integrates to 1 over the plane (a grid sum)
    grid = torch.linspace(-9, 9, 601)
    zz = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    mass = prior.log_prob(zz).exp().sum() * (grid[1] - grid[0]) ** 2
    assert abs(mass.item() - 1) < 1e-3
    params = dict(MixturePrior(3, 2).named_parameters())
    assert set(params) == {"logits", "loc", "raw_scale"}


def test_vamp_prior_is_the_mixture_of_encoder_posteriors_at_pseudo_inputs():
    torch.manual_seed(0)
    config = VAEConfig(hidden=(16,), latent_dim=3, latent_prior="vamp")
    model = VAEConfig(**{**config.__dict__, "prior_components": 5}).build()
    assert isinstance(model.learned_prior, VampPrior)
    u = model.learned_prior.images()
    assert u.shape == (5, 784) and u.min() >= 0 and u.max() <= 1
    h = model.encoder(u)  # the encoder's posteriors at u_c, computed here
    loc, scale = h[:, :3], F.softplus(h[:, 3:]) + MIN_SCALE
    z = torch.randn(7, 3)
    want = explicit_mixture_log_prob(torch.zeros(5), loc, scale, z)
    torch.testing.assert_close(model.prior().log_prob(z), want, rtol=1e-5, atol=1e-4)
    # the prior is differentiable in the pseudo-inputs and in the encoder
    model.prior().log_prob(z).sum().backward()
    assert model.learned_prior.pseudo_inputs.grad.abs().sum() > 0
    assert model.encoder[0].weight.grad.abs().sum() > 0


def loop_vamp_log_prob(model, z):
    """log (1/C) sum_c q(z | u_c), one component at a time with torch's Normal:
    z (..., K) -> (...,); no broadcasting of the batch against the components."""
    h = model.encoder(model.learned_prior.images())
    loc, raw = h.chunk(2, -1)
    scale = F.softplus(raw) + MIN_SCALE
    terms = [
        D.Normal(loc[c], scale[c]).log_prob(z).sum(-1) for c in range(len(loc))
    ]  # each (...,)
    return torch.logsumexp(torch.stack(terms), dim=0) - math.log(len(loc))


@pytest.mark.parametrize("components", [4, 6])  # 6: as many components as images
def test_vamp_log_prob_and_kl_against_a_loop_over_components(components):
    """The VampPrior's log p(z) at (S, B, K) samples against a loop over its
    components (B = C included, where broadcasting (B, K) against (C, K) would go
    unnoticed), with pseudo-inputs started as the paper's and trained encoders whose
    posteriors are narrow; and the ELBO's KL against a large-sample reference."""
    torch.manual_seed(0)
    model = VAEConfig(
        hidden=(16,), latent_dim=3, latent_prior="vamp", prior_components=components
    ).build()
    u = model.learned_prior.images()
    assert abs(u.mean().item() - 0.05) < 0.005 and u.min() >= 0  # N(0.05, 0.01^2)
    with torch.no_grad():  # narrow posteriors, spread codes: what training makes
        model.encoder[-1].bias[3:] = -3.0  # scales about softplus(-3) = 0.05
        model.encoder[-1].weight.mul_(20)
    x = torch.bernoulli(torch.full((6, 784), 0.2))
    z = model.encode(x).sample((5,))  # (S, B, K)
    with torch.no_grad():
        got = model.prior().log_prob(z)
        want = loop_vamp_log_prob(model, z)
    assert got.shape == (5, 6)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-3)
    # the single-sample KL of the ELBO, averaged over many samples, against
    # log q(z|x) - log p(z) computed with the loop at independent samples
    torch.manual_seed(1)
    with torch.no_grad():
        estimate = elbo(model, x, num_samples=20_000).kl  # (B,)
        qz = model.encode(x)
        z = qz.sample((20_000,))
        single = qz.log_prob(z) - loop_vamp_log_prob(model, z)  # (S, B)
    se = single.std(0) / math.sqrt(len(single))
    assert (single.mean(0) > 0).all()
    assert ((estimate - single.mean(0)).abs() < 4 * math.sqrt(2) * se).all()


def test_vamp_prior_trains_as_well_as_the_standard_normal_on_mnist():
    """600 steps on 10,000 MNIST images, the KL weight held at 0 for the first 30 %
    (then warmed up): the VampPrior keeps information in z (its KL stays above 3
    nats) and its -ELBO is within 3 nats of N(0, I)'s at equal steps. Without the
    hold the recipe's VampPrior collapsed to a z the decoder ignores (207 nats)."""
    train = BinarizedMNIST.load("train", limit=10_000)
    config = TrainConfig(
        max_steps=600, epochs=100, beta_hold=0.3, beta_warmup=0.25, device="cpu"
    )
    last = {}
    for prior in ("normal", "vamp"):
        torch.manual_seed(0)
        model = VAEConfig(
            hidden=(200,), latent_dim=20, latent_prior=prior, prior_components=20
        ).build()
        rows = []

        def record(state, out):
            rows.append([out["neg_elbo"].mean().item(), out["kl"].mean().item()])

        fit(model, config, train, test=False, callback=record, progress=False)
        last[prior] = torch.tensor(rows[-100:]).mean(0)  # the last 100 steps
    assert last["vamp"][1] > 3
    assert last["vamp"][0] < last["normal"][0] + 3
    assert last["normal"][0] < 160  # both learned: z-ignoring models sit at 206


def test_normal_prior_keeps_the_old_state_dict_and_kl_per_dimension():
    torch.manual_seed(0)
    model = VAEConfig(hidden=(8,), latent_dim=2).build()
    assert model.learned_prior is None
    assert all(k.startswith(("encoder.", "decoder.")) for k in model.state_dict())
    assert model.kl_per_dimension(torch.rand(3, 784)).shape == (3, 2)
    mog = VAEConfig(hidden=(8,), latent_dim=2, latent_prior="mog").build()
    assert mog.kl_per_dimension(torch.rand(3, 784)) is None  # no factorization


def test_monte_carlo_kl_is_unbiased_with_the_stated_variance():
    """The single-sample estimate log q(z) - log p(z), z ~ q: its mean over many
    draws matches the closed form within 4 standard errors, and its variance is the
    docstring's sum_k (s_k^2 - 1)^2 / 2 + mu_k^2 s_k^2 for p = N(0, I)."""
    torch.manual_seed(0)
    q = D.Independent(D.Normal(torch.tensor([0.5, -1.0]), torch.tensor([0.7, 1.4])), 1)
    p = D.Independent(D.Normal(torch.zeros(2), torch.ones(2)), 1)
    z = q.sample((200_000,))
    single = q.log_prob(z) - p.log_prob(z)
    se = single.std() / math.sqrt(len(single))
    assert abs(single.mean() - D.kl_divergence(q, p)) < 4 * se
    mu, s = q.base_dist.loc, q.base_dist.scale
    stated = ((s**2 - 1) ** 2 / 2 + mu**2 * s**2).sum()
    assert abs(single.var() / stated - 1) < 0.03
    # a one-component mixture has no closed form in torch: the Monte Carlo path
    mixture = GaussianMixture(torch.zeros(1), torch.zeros(1, 2), torch.ones(1, 2))
    estimate = kl_divergence(q, mixture, z[:, None])  # (S, B=1, K)
    assert abs(estimate - D.kl_divergence(q, p)) < 4 * se


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: VAEConfig(prior_components=0), "at least 1"),
        (lambda: VAEConfig(latent_prior="flow"), "latent_prior must be one of"),
        (lambda: MixturePrior(0, 2), "at least 1"),
        (lambda: VampPrior(-1, 784), "at least 1"),
        (lambda: build_prior("mog", 2.5, 2, 784), "integer"),
        (
            lambda: GaussianMixture(
                torch.zeros(2), torch.zeros(3, 2), torch.ones(3, 2)
            ),
            "logits",
        ),
        (lambda: TwoLayerConfig(top_latent_dim=0), "must be positive"),
        (lambda: TwoLayerConfig(activation="sin"), "activation must be one of"),
    ],
)
def test_bad_input_is_refused_clearly(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def tiny_two_layer(seed=0, data_dim=4):
    torch.manual_seed(seed)
    config = TwoLayerConfig(
        hidden=(6,), latent_dim=1, top_hidden=(5,), top_latent_dim=1, data_dim=data_dim
    )
    return TwoLayerVAE(config)


def gaussian_log_pdf(net, h, z):
    """log N(z; loc, scale) with (loc, raw scale) = net(h), written out."""
    loc, raw = net(h).chunk(2, -1)
    scale = F.softplus(raw) + MIN_SCALE
    return (
        -0.5 * ((z - loc) / scale) ** 2 - scale.log() - 0.5 * math.log(2 * math.pi)
    ).sum(-1)


@torch.no_grad()
def test_two_layer_elbo_matches_a_direct_computation():
    """E_q[log p(x|z1) + log p(z1|z2) + log p(z2) - log q(z1|x) - log q(z2|z1)],
    sampled here by hand from the model's networks, equals the model's ELBO (which
    takes the z2 KL in closed form) within Monte Carlo error."""
    model = tiny_two_layer()
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
    s = 100_000
    loc1, raw1 = model.encoder(x).chunk(2, -1)
    z1 = loc1 + (F.softplus(raw1) + MIN_SCALE) * torch.randn(s, 2, 1)
    loc2, raw2 = model.top_encoder(z1).chunk(2, -1)
    z2 = loc2 + (F.softplus(raw2) + MIN_SCALE) * torch.randn(s, 2, 1)
    logits = model.decoder(z1)
    log_px = (x * logits - F.softplus(logits)).sum(-1)
    log_pz2 = (-0.5 * z2**2 - 0.5 * math.log(2 * math.pi)).sum(-1)
    direct = (
        log_px
        + gaussian_log_pdf(model.top_decoder, z2, z1)
        + log_pz2
        - gaussian_log_pdf(model.encoder, x, z1)
        - gaussian_log_pdf(model.top_encoder, z1, z2)
    )  # (S, B)
    se = direct.std(0) / math.sqrt(s)
    torch.manual_seed(1)
    terms = elbo(model, x, num_samples=s)
    assert ((terms.elbo - direct.mean(0)).abs() < 4 * (se + 1e-3)).all()
    assert (terms.kl > 0).all()


@torch.no_grad()
def test_two_layer_iw_bound_is_between_elbo_and_log_px():
    """log p(x) by numerical integration over (z1, z2) on a grid (K1 = K2 = 1):
    E[ELBO] <= E[L_100] <= log p(x), each expectation estimated from 400 independent
    bounds within 4 standard errors; L_100 has less than half the ELBO's gap."""
    model = tiny_two_layer(seed=3)
    x = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    grid = torch.linspace(-10, 10, 801)
    step = (grid[1] - grid[0]).item()
    z2 = grid[:, None, None].expand(len(grid), len(grid), 1)  # (G, G, 1)
    z1 = grid[None, :, None].expand(len(grid), len(grid), 1)
    log_joint = (
        model.decode(z1).log_prob(x[0])
        + model.prior_z1(z2).log_prob(z1)
        + model.prior().log_prob(z2)
    )
    log_px = torch.logsumexp(log_joint.flatten(), 0).item() + 2 * math.log(step)
    torch.manual_seed(0)
    log_w = log_importance_weights(model, x, 400 * 100).reshape(400, 100)
    bounds = torch.logsumexp(log_w, 1) - math.log(100)  # 400 draws of L_100
    elbos = log_w.mean(1)  # 400 draws of the ELBO (mean of 100 single samples)
    se = bounds.std() / 20
    assert bounds.mean() <= log_px + 4 * se
    assert elbos.mean() + 4 * elbos.std() / 20 < bounds.mean()
    assert log_px - bounds.mean() < 0.5 * (log_px - elbos.mean())  # gap halved
    assert iw_bound(model, x, num_samples=5).shape == (1,)
    assert model.sample(3).shape == (3, 4)  # ancestral samples: probabilities
    assert model.posterior_means(x).shape == (1, 2)


def test_learned_prior_trains_and_records_unit_activity():
    """One epoch on random binary images: the history holds the activity of every
    unit (a mixture prior has no per-dimension KL); the ELBO improves."""
    torch.manual_seed(0)
    data = torch.bernoulli(torch.full((200, 784), 0.2))
    for prior in ("mog", "vamp"):
        model = VAEConfig(
            hidden=(16,), latent_dim=2, latent_prior=prior, prior_components=3
        ).build()
        config = TrainConfig(epochs=2, batch_size=50, device="cpu")
        history = fit(model, config, data, data[:50], progress=False)
        row = history[-1]
        assert len(row["test_activity"]) == 2 and "test_kl_per_dim" not in row
        assert history[-1]["test_neg_elbo"] < history[0]["test_neg_elbo"] + 5
    two = tiny_two_layer(data_dim=784)
    history = fit(
        two,
        TrainConfig(epochs=1, batch_size=50, device="cpu"),
        data,
        data[:50],
        progress=False,
    )
    assert len(history[-1]["test_activity"]) == 2


@torch.no_grad()
def test_aggregate_posterior_and_the_elbo_decomposition():
    """q(z) is the equal-weight mixture of the q(z|x_n); I + KL(q(z) || p(z)) equals
    the average KL within Monte Carlo error; I <= log N; the parts add up to the
    -ELBO; the prior hole's mass is a probability."""
    torch.manual_seed(0)
    model = VAEConfig(hidden=(16,), latent_dim=2).build()
    x = torch.bernoulli(torch.full((30, 784), 0.3))
    qz = model.encode(x)
    z = torch.randn(5, 2)
    loc, scale = qz.base_dist.loc, qz.base_dist.scale
    want = explicit_mixture_log_prob(torch.zeros(30), loc, scale, z)
    torch.testing.assert_close(aggregate_posterior(model, x).log_prob(z), want)
    parts = elbo_decomposition(model, x, num_samples=200)
    assert abs(parts.identity_gap) < 4 * parts.identity_gap_se + 1e-4
    assert 0 <= parts.mutual_information <= math.log(30) + 1e-4
    total = parts.reconstruction + parts.mutual_information + parts.marginal_kl
    assert abs(total - parts.neg_elbo) < 4 * parts.identity_gap_se + 1e-4
    mass, se, inside = prior_hole_mass(model, x, ratio=0.1, num_samples=2000)
    assert 0 <= mass <= 1 and se >= 0 and inside.shape[1] == 2
    axis, log_q, log_p = grid_log_densities(model, x, limit=3, points=11)
    assert log_q.shape == log_p.shape == (11, 11)
    with pytest.raises(ValueError, match="at least 2 images"):
        elbo_decomposition(model, x[:1])


def test_unit_activity_reads_either_record():
    rows = [{"test_activity": [0.5, 0.0, 0.02]}, {"test_activity": [0.5, 0.0, 0.0]}]
    assert unit_activity(rows) == [2, 1]
    assert unit_activity([{"test_kl_per_dim": [1.0, 0.001]}]) == [1]
    with pytest.raises(ValueError, match="neither"):
        unit_activity([{"epoch": 1}])
