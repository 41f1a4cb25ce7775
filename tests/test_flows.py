"""The change of variables (notes 1.7) against autograd Jacobians, torch, scipy and grid
integrals."""

import pytest
import scipy.stats
import torch
from torch import distributions as D

from vaebook import flows
from vaebook.checkpoints import load_checkpoint, save_checkpoint
from vaebook.distributions import diagonal_gaussian
from vaebook.objectives import elbo, iw_bound, log_importance_weights
from vaebook.training import TrainConfig, TrainState

K = 3


def jacobian_log_det(fn, eps):
    """Reference log |det J| per row of eps (N, K): autograd Jacobian, then slogdet."""
    jac = torch.stack([torch.autograd.functional.jacobian(fn, e) for e in eps])
    sign, logabsdet = torch.linalg.slogdet(jac)
    return sign, logabsdet


def random_scale_tril(k, generator):
    tril = torch.randn(k, k, generator=generator).tril(-1)
    return tril + torch.diag(torch.rand(k, generator=generator) + 0.3)


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def test_analytic_log_dets_match_the_autograd_jacobian(g):
    eps = torch.randn(6, K, generator=g, dtype=torch.float64)
    loc = torch.randn(K, generator=g, dtype=torch.float64)
    scale = torch.rand(K, generator=g, dtype=torch.float64) + 0.2
    tril = random_scale_tril(K, g).double()
    u, w = (
        3 * torch.randn(K, generator=g, dtype=torch.float64),
        torch.randn(K, generator=g, dtype=torch.float64),
    )
    b = torch.tensor(0.4, dtype=torch.float64)
    for transform in (
        lambda e: flows.diagonal_affine(e, loc, scale),
        lambda e: flows.cholesky_affine(e, loc, tril),
        lambda e: flows.planar(e, u, w, b),
        lambda e: flows.planar(e, -u, w, b),
    ):
        _, analytic = transform(eps)
        sign, reference = jacobian_log_det(lambda e: transform(e)[0], eps)
        torch.testing.assert_close(analytic, reference)
        assert (sign > 0).all()
        torch.testing.assert_close(
            flows.autograd_log_abs_det(lambda e: transform(e)[0], eps), reference
        )


def test_planar_log_det_matches_finite_differences(g):
    eps = torch.randn(4, K, generator=g, dtype=torch.float64)
    u, w, b = (
        torch.randn(K, generator=g).double(),
        torch.randn(K, generator=g).double(),
        0.1,
    )
    h = 1e-6
    columns = [
        (flows.planar(eps + h * e, u, w, b)[0] - flows.planar(eps - h * e, u, w, b)[0])
        / (2 * h)
        for e in torch.eye(K, dtype=torch.float64)
    ]
    jac = torch.stack(columns, dim=-1)  # (N, K, K): column j is d f / d eps_j
    torch.testing.assert_close(
        flows.planar(eps, u, w, b)[1],
        torch.linalg.slogdet(jac).logabsdet,
        atol=1e-6,
        rtol=0,
    )


def test_change_of_variables_gives_the_gaussian_densities_of_torch_and_scipy(g):
    eps = torch.randn(5, K, generator=g, dtype=torch.float64)
    log_p_eps = D.Normal(0.0, 1.0).log_prob(eps).sum(-1)
    loc = torch.randn(K, generator=g, dtype=torch.float64)
    scale = torch.rand(K, generator=g, dtype=torch.float64) + 0.2
    z, log_det = flows.diagonal_affine(eps, loc, scale)
    torch.testing.assert_close(
        log_p_eps - log_det, diagonal_gaussian(loc, scale).log_prob(z)
    )
    tril = random_scale_tril(K, g).double()
    z, log_det = flows.cholesky_affine(eps, loc, tril)
    q = flows.full_covariance_gaussian(loc, tril)
    torch.testing.assert_close(log_p_eps - log_det, q.log_prob(z))
    scipy_logpdf = scipy.stats.multivariate_normal(
        loc.numpy(), (tril @ tril.T).numpy()
    ).logpdf(z.numpy())
    torch.testing.assert_close(q.log_prob(z), torch.from_numpy(scipy_logpdf))


def test_full_covariance_samples_have_the_cholesky_covariance_within_standard_error(g):
    torch.manual_seed(0)
    loc, tril = torch.tensor([1.0, -2.0, 0.5]), random_scale_tril(K, g)
    cov = tril @ tril.T
    n = 200_000
    z = flows.full_covariance_gaussian(loc, tril).rsample((n,))
    se_mean = cov.diagonal().sqrt() / n**0.5
    assert ((z.mean(0) - loc).abs() < 4 * se_mean).all()
    # the standard error of a sample covariance entry: sqrt((S_ii S_jj + S_ij^2) / n)
    se_cov = ((cov.diagonal()[:, None] * cov.diagonal()[None, :] + cov**2) / n).sqrt()
    assert ((torch.cov(z.T) - cov).abs() < 4 * se_cov).all()


def test_scale_tril_from_raw_is_a_valid_cholesky_factor_for_any_input(g):
    raw_diag = torch.tensor([[-50.0, 0.0, 30.0]]) * torch.randn(1, K, generator=g)
    raw_off = 100 * torch.randn(1, K * (K - 1) // 2, generator=g)
    tril = flows.scale_tril_from_raw(raw_diag, raw_off)
    assert tril.shape == (1, K, K)
    flows.check_scale_tril(tril)  # lower-triangular, positive diagonal
    rows, cols = torch.tril_indices(K, K, offset=-1)
    torch.testing.assert_close(tril[0, rows, cols], raw_off[0])


def test_planar_constraint_holds_for_any_raw_parameters(g):
    u = 1e3 * torch.randn(1000, K, generator=g, dtype=torch.float64)
    w = torch.randn(1000, K, generator=g, dtype=torch.float64)
    w = (
        w * torch.logspace(-3, 2, 1000, dtype=torch.float64)[:, None]
    )  # norms from 1e-3 to 1e2
    w[0] = 0.0  # w = 0 leaves u alone: the step is a shift, invertible for any u
    u_hat, one_plus_wu = flows.constrain_planar_u(u, w)
    wu_hat = (w * u_hat).sum(-1)
    assert (wu_hat >= -1 - 1e-9).all() and (one_plus_wu >= 0).all()
    torch.testing.assert_close(1 + wu_hat, one_plus_wu)
    torch.testing.assert_close(u_hat[0], u[0])
    # u only moves along w: the change is parallel to w
    change = u_hat - u
    cross = change[:, :, None] * w[:, None, :] - w[:, :, None] * change[:, None, :]
    assert cross.abs().max() < 1e-9 * (change.norm(dim=-1) * w.norm(dim=-1)).max()
    # hence the determinant never vanishes and the log-det is finite everywhere, in
    # float32 too
    z = 5 * torch.randn(1000, K, generator=g)
    _, log_det = flows.planar(z, u.float(), w.float(), torch.randn(1000, generator=g))
    assert torch.isfinite(log_det).all()


def test_planar_inverse_inverts_and_unconstrained_folds_are_refused(g):
    z = 3 * torch.randn(50, K, generator=g, dtype=torch.float64)
    u, w = (
        4 * torch.randn(50, K, generator=g).double(),
        torch.randn(50, K, generator=g).double(),
    )
    b = torch.randn(50, generator=g).double()
    y, _ = flows.planar(z, u, w, b)
    torch.testing.assert_close(flows.planar_inverse(y, u, w, b), z)
    w1, u1 = (
        torch.tensor([1.0, 0.0]),
        torch.tensor([-3.0, 0.0]),
    )  # w^T u = -3 < -1: not invertible
    _, log_det = flows.planar(torch.zeros(1, 2), u1, w1, 0.0, constrain=False)
    assert log_det.item() == pytest.approx(
        torch.tensor(2.0).log().item()
    )  # |1 - 3| at a = 0
    with pytest.raises(ValueError, match="not invertible"):
        flows.planar_inverse(torch.zeros(1, 2), u1, w1, 0.0, constrain=False)


@pytest.mark.parametrize("kind", ["fullcov", "planar1", "planar2"])
def test_two_dimensional_densities_integrate_to_one_on_a_grid(kind):
    if kind == "fullcov":
        q = flows.full_covariance_gaussian(
            torch.tensor([0.5, -0.3]), torch.tensor([[1.0, 0.0], [0.9, 0.4]])
        )
    else:
        steps = 1 if kind == "planar1" else 2
        u = torch.tensor([[2.5, 1.0], [1.5, -1.0]])[:steps]
        w = torch.tensor([[1.0, 0.5], [0.3, -1.2]])[:steps]
        q = flows.planar_flow_posterior(
            torch.tensor([0.2, 0.0]),
            torch.tensor([1.0, 0.7]),
            u,
            w,
            torch.tensor([0.3, -0.2])[:steps],
        )
    _, _, density, cell = flows.density_on_grid(q, limit=8.0, steps=241)
    # a Riemann sum on a 0.067 grid over [-8, 8]^2: error well below 1e-3 for these
    # smooth densities
    assert abs(density.sum().item() * cell - 1) < 1e-3


def test_flow_log_prob_of_its_samples_uses_the_forward_log_dets(g):
    torch.manual_seed(0)
    b, f = 4, 3
    q = flows.PlanarFlowPosterior(
        torch.randn(b, K),
        torch.rand(b, K) + 0.5,
        2 * torch.randn(b, f, K),
        torch.randn(b, f, K),
        torch.randn(b, f),
    )
    assert q.batch_shape == (b,) and q.event_shape == (K,) and q.num_flows == f
    z, log_q = q.rsample_and_log_prob((7,))
    assert z.shape == (7, b, K) and log_q.shape == (7, b)
    torch.testing.assert_close(q.log_prob(z), log_q)  # through the transforms' cache
    torch.testing.assert_close(
        q.log_prob(z.clone()), log_q, atol=1e-4, rtol=1e-4
    )  # through bisection
    # log q(z) = log N(eps) - log |det dz/d eps| with the Jacobian of the whole map eps
    # -> z by autograd
    single = flows.PlanarFlowPosterior(
        torch.randn(K, generator=g).double(),
        torch.rand(K, generator=g).double() + 0.5,
        2 * torch.randn(f, K, generator=g).double(),
        torch.randn(f, K, generator=g).double(),
        torch.randn(f, generator=g).double(),
    )

    def whole_map(e):
        for step in single.transforms:
            e = step(e)
        return e

    eps = torch.randn(5, K, generator=g, dtype=torch.float64)
    _, log_det = jacobian_log_det(whole_map, eps)
    reference = D.Normal(0.0, 1.0).log_prob(eps).sum(-1) - log_det
    z = torch.stack([whole_map(e) for e in eps]).clone()
    torch.testing.assert_close(single.log_prob(z), reference)


def test_a_planar_step_with_w_zero_is_a_shift_of_the_gaussian():
    loc, scale = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([[0.3, 1.0, 2.0]])
    u, w, b = (
        torch.tensor([[[1.0, 2.0, -1.0]]]),
        torch.zeros(1, 1, K),
        torch.tensor([[0.7]]),
    )
    q = flows.planar_flow_posterior(loc, scale, u, w, b)
    shifted = diagonal_gaussian(loc + u[:, 0] * torch.tanh(b), scale)
    z = shifted.sample((10,))
    torch.testing.assert_close(q.log_prob(z), shifted.log_prob(z))


@pytest.mark.parametrize("posterior", flows.POSTERIORS)
def test_vae_elbo_is_below_the_iw_bound_and_matches_the_package_objectives(posterior):
    torch.manual_seed(0)
    model = flows.PosteriorVAEConfig(
        hidden=(32,), latent_dim=4, posterior=posterior, num_flows=2
    ).build()
    x = torch.bernoulli(torch.full((6, 784), 0.2))
    with torch.no_grad():
        repeats = x.repeat(400, 1)  # 400 independent one-sample estimates per image
        elbos = model.elbo(repeats).elbo.view(400, -1)  # (R, B)
        elbo_mean, elbo_se = elbos.mean(0), elbos.std(0) / 400**0.5
        bound = iw_bound(model, x.repeat(20, 1), 50).view(20, -1).mean(0)
        assert (elbo_mean <= bound + 4 * elbo_se).all()
        # the package's generic ELBO (KL in closed form or by Monte Carlo) estimates the
        # same ELBO
        generic = elbo(model, repeats).elbo.view(400, -1)
        assert (
            (generic.mean(0) - elbo_mean).abs()
            < 4 * (elbo_se + generic.std(0) / 400**0.5)
        ).all()
        # the model's importance weights and the package's are the same draws
        torch.manual_seed(1)
        mine = model.log_importance_weights(x, 5)
        torch.manual_seed(1)
        torch.testing.assert_close(
            log_importance_weights(model, x, 5), mine, atol=1e-4, rtol=1e-5
        )


def test_monte_carlo_kl_of_the_flow_route_matches_the_closed_form():
    torch.manual_seed(0)
    model = flows.PosteriorVAEConfig(
        hidden=(32,), latent_dim=4, posterior="fullcov"
    ).build()
    x = torch.bernoulli(torch.full((3, 784), 0.3))
    with torch.no_grad():
        qz = model.encode(x)
        z, log_q = flows.rsample_and_log_prob(qz, (100_000,))
        terms = log_q - model.prior().log_prob(z)
        closed = model.closed_form_kl(qz)
    assert ((terms.mean(0) - closed).abs() < 4 * terms.std(0) / len(terms) ** 0.5).all()


def test_objective_trains_and_checkpoints_rebuild_the_model(tmp_path):
    torch.manual_seed(0)
    model = flows.PosteriorVAEConfig(
        hidden=(32,), latent_dim=4, posterior="planar", num_flows=2
    ).build()
    x = torch.bernoulli(torch.full((8, 784), 0.2))
    out = model.objective(x, TrainState(TrainConfig(num_samples=2)))
    assert out["loss"].dim() == 0 and all(
        out[k].shape == (8,) for k in ("neg_elbo", "log_px_given_z", "kl")
    )
    out["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    path = save_checkpoint(tmp_path / "flow.pt", model)
    loaded = load_checkpoint(path).model
    assert loaded.config == model.config
    torch.testing.assert_close(loaded.encode(x).loc, model.encode(x).loc)


def test_bad_input_gives_clear_errors():
    eye = torch.eye(2)
    with pytest.raises(ValueError, match="posterior must be one of"):
        flows.PosteriorVAEConfig(posterior="iaf")
    with pytest.raises(ValueError, match="num_flows"):
        flows.PosteriorVAEConfig(num_flows=0)
    with pytest.raises(ValueError, match="lower-triangular"):
        flows.full_covariance_gaussian(torch.zeros(2), torch.ones(2, 2))
    with pytest.raises(ValueError, match="positive diagonal"):
        flows.cholesky_affine(torch.zeros(2), torch.zeros(2), -eye)
    with pytest.raises(ValueError, match="scale must be positive"):
        flows.diagonal_affine(torch.zeros(2), torch.zeros(2), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="last dimension"):
        flows.planar(torch.zeros(5, 2), torch.zeros(3), torch.zeros(2), 0.0)
    with pytest.raises(ValueError, match="u must be"):
        flows.PlanarFlowPosterior(
            torch.zeros(4, 2),
            torch.ones(4, 2),
            torch.zeros(4, 2),
            torch.zeros(4, 1, 2),
            torch.zeros(4, 1),
        )
    with pytest.raises(ValueError, match="K\\(K-1\\)/2"):
        flows.scale_tril_from_raw(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="2-D distribution"):
        flows.density_on_grid(D.MultivariateNormal(torch.zeros(3), torch.eye(3)))
    with pytest.raises(ValueError, match="pathwise"):
        flows.rsample_and_log_prob(D.Bernoulli(torch.tensor([0.3])))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        flows.autograd_log_abs_det(lambda e: e, torch.zeros(2))
