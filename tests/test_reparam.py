"""Reparameterizable families against scipy and torch.distributions, pathwise gradients
against finite differences of exact expectations, and the VAE with a non-Gaussian
posterior."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch import distributions as D

from vaebook import reparam as R
from vaebook.gradients import per_sample_gradients
from vaebook.objectives import elbo
from vaebook.registry import config_from_dict, config_to_dict

F64 = torch.float64


def kumaraswamy_reference(a, b):
    """Closed forms of Kumaraswamy(a, b): (cdf, pdf) as numpy functions."""
    return (lambda z: 1 - (1 - z**a) ** b), (
        lambda z: a * b * z ** (a - 1) * (1 - z**a) ** (b - 1)
    )


def scipy_reference(name: str, p: dict):
    """The same family in scipy (an independent implementation), frozen at ``p``;
    Kumaraswamy: closed forms."""
    loc, scale = p.get("loc"), p.get("scale")
    return {
        "Gaussian": lambda: stats.norm(loc, scale),
        "Laplace": lambda: stats.laplace(loc, scale),
        "Logistic": lambda: stats.logistic(loc, scale),
        "Student's t (df=4)": lambda: stats.t(4, loc, scale),
        "Uniform": lambda: stats.uniform(loc - scale, 2 * scale),
        "Triangular": lambda: stats.triang(0.5, loc - scale, 2 * scale),
        "LogNormal": lambda: stats.lognorm(s=scale, scale=math.exp(loc)),
        "Gamma": lambda: stats.gamma(
            p.get("concentration"), scale=1 / p.get("rate", 1)
        ),
        "Chi-squared": lambda: stats.chi2(p.get("df")),
        "Beta": lambda: stats.beta(p.get("concentration1"), p.get("concentration0")),
        "F": lambda: stats.f(p.get("df1"), p.get("df2")),
        "Exponential": lambda: stats.expon(scale=1 / p.get("rate", 1)),
        "Cauchy": lambda: stats.cauchy(loc, scale),
        "Kumaraswamy": lambda: None,
    }[name]()


def build(name: str, p: dict):
    return R.FAMILIES[name].make(
        **{k: torch.tensor(v, dtype=F64) for k, v in p.items()}
    )


NAMES = list(R.FAMILIES)
# smooth, bounded: E and its gradient exist for every family
bump = lambda z: torch.exp(-((z - 1) ** 2) / 2)  # noqa: E731


def exact_expectation(name: str, p: dict) -> float:
    """E[bump(z)] by adaptive quadrature over scipy's (or the closed-form) density,
    independent of torch."""
    f = lambda z: math.exp(-((z - 1) ** 2) / 2)  # noqa: E731
    ref = scipy_reference(name, p)
    if ref is None:
        _, pdf = kumaraswamy_reference(p["concentration1"], p["concentration0"])
        return integrate.quad(
            lambda z: f(z) * pdf(z), 0, 1, epsabs=1e-12, epsrel=1e-10
        )[0]
    lo, hi = ref.support()
    points = [p["loc"]] if name == "Triangular" else None  # the kink of the triangle
    return integrate.quad(
        lambda z: f(z) * ref.pdf(z),
        lo,
        hi,
        points=points,
        epsabs=1e-12,
        epsrel=1e-10,
        limit=500,
    )[0]


@pytest.mark.parametrize("name", NAMES)
def test_log_prob_and_cdf_match_scipy(name):
    p = R.FAMILIES[name].params
    q = build(name, p)
    torch.manual_seed(0)
    z = q.sample((200,))
    ref = scipy_reference(name, p)
    if ref is None:
        cdf, pdf = kumaraswamy_reference(p["concentration1"], p["concentration0"])
        np.testing.assert_allclose(
            q.log_prob(z).numpy(), np.log(pdf(z.numpy())), rtol=1e-8, atol=1e-10
        )
        np.testing.assert_allclose(
            q.cdf(z).numpy(), cdf(z.numpy()), rtol=1e-8, atol=1e-12
        )
        return
    np.testing.assert_allclose(
        q.log_prob(z).numpy(), ref.logpdf(z.numpy()), rtol=1e-6, atol=1e-8
    )
    try:
        np.testing.assert_allclose(
            q.cdf(z).numpy(), ref.cdf(z.numpy()), rtol=1e-6, atol=1e-8
        )
    except NotImplementedError:
        pass  # torch has no cdf for this family (Beta, F, LogNormal...)


@pytest.mark.parametrize("name", NAMES)
def test_samples_follow_the_density(name):
    """Kolmogorov-Smirnov test of 4,000 rsample draws against the reference CDF
    (seeded)."""
    p = R.FAMILIES[name].params
    torch.manual_seed(1)
    z = build(name, p).rsample((4000,)).detach().numpy()
    ref = scipy_reference(name, p)
    cdf = (
        ref.cdf
        if ref is not None
        else kumaraswamy_reference(p["concentration1"], p["concentration0"])[0]
    )
    assert stats.kstest(z, cdf).pvalue > 1e-3


def test_the_ks_check_has_power():
    torch.manual_seed(1)
    z = R.logistic(0.0, 1.0).rsample((4000,)).numpy()
    assert (
        stats.kstest(z, stats.norm(0, math.pi / math.sqrt(3)).cdf).pvalue < 1e-3
    )  # same variance, wrong shape


@pytest.mark.parametrize("name", NAMES)
def test_pathwise_gradient_matches_finite_differences(name):
    """grad E[bump(z)]: the mean of 200,000 pathwise terms against central differences
    of exact quadrature."""
    p = R.FAMILIES[name].params
    torch.manual_seed(2)
    terms = per_sample_gradients(
        R.FAMILIES[name].make,
        {k: torch.tensor(v, dtype=F64) for k, v in p.items()},
        bump,
        200_000,
        "pathwise",
    )
    for k, v in p.items():
        h = 1e-4 * max(1.0, abs(v))
        fd = (
            exact_expectation(name, {**p, k: v + h})
            - exact_expectation(name, {**p, k: v - h})
        ) / (2 * h)
        mean, se = (
            terms[k].mean().item(),
            (terms[k].std() / len(terms[k]) ** 0.5).item(),
        )
        assert abs(mean - fd) < 4 * se + 1e-6, (k, mean, fd, se)
        assert abs(fd) > 4 * se, (
            k,
            fd,
            se,
        )  # the gradient is clearly nonzero, so a sign or scale error shows


@pytest.mark.parametrize("name", [n for n in NAMES if n != "Uniform"])
def test_score_function_agrees_with_pathwise(name):
    p = {k: torch.tensor(v, dtype=F64) for k, v in R.FAMILIES[name].params.items()}
    torch.manual_seed(3)
    a = per_sample_gradients(R.FAMILIES[name].make, p, bump, 100_000, "pathwise")
    b = per_sample_gradients(
        R.FAMILIES[name].make, p, bump, 100_000, "score", "leave-one-out"
    )
    for k in p:
        se = (a[k].var() / len(a[k]) + b[k].var() / len(b[k])).sqrt().item()
        assert abs(a[k].mean().item() - b[k].mean().item()) < 4 * se, k


def test_score_function_misses_the_moving_boundary_of_the_uniform():
    """log q = -log(2 scale) has no gradient in loc: the log-derivative trick drops the
    boundary term of Leibniz's rule when the support depends on the parameter. The
    pathwise gradient does not."""
    p = {"loc": torch.tensor(0.5, dtype=F64), "scale": torch.tensor(1.5, dtype=F64)}
    torch.manual_seed(4)
    score = per_sample_gradients(R.uniform, p, bump, 50_000, "score", "leave-one-out")
    assert score["loc"].abs().max() == 0
    # exact: d/dloc E[f] = (f(loc + scale) - f(loc - scale)) / (2 scale)
    exact = (
        (bump(p["loc"] + p["scale"]) - bump(p["loc"] - p["scale"])) / (2 * p["scale"])
    ).item()
    pathwise = per_sample_gradients(R.uniform, p, bump, 50_000, "pathwise")["loc"]
    assert abs(pathwise.mean().item() - exact) < 4 * pathwise.std().item() / 50_000**0.5
    assert abs(exact) > 0.1


@pytest.mark.parametrize(
    "name,torch_family",
    [
        ("gaussian", lambda l, s: D.Normal(l, s)),
        ("laplace", lambda l, s: D.Laplace(l, s)),
        ("student_t", lambda l, s: D.StudentT(4.0, l, s)),
        ("uniform", lambda l, s: D.Uniform(l - s, l + s)),
    ],
)
def test_location_scale_equals_torch(name, torch_family):
    loc, scale = (
        torch.tensor([0.3, -1.0], dtype=F64),
        torch.tensor([0.5, 2.0], dtype=F64),
    )
    ours, theirs = getattr(R, name)(loc, scale), torch_family(loc, scale)
    torch.manual_seed(5)
    z = theirs.sample((50,))
    torch.testing.assert_close(ours.log_prob(z), theirs.log_prob(z))
    torch.testing.assert_close(ours.mean, theirs.mean)
    torch.testing.assert_close(ours.variance, theirs.variance)
    torch.testing.assert_close(ours.entropy(), theirs.entropy())
    if name != "student_t":
        torch.testing.assert_close(ours.cdf(z), theirs.cdf(z))
        u = torch.rand(50, 2, dtype=F64)
        torch.testing.assert_close(ours.icdf(u), theirs.icdf(u))
    assert ours.rsample((7,)).shape == (7, 2)


@pytest.mark.parametrize(
    "make,ref",
    [
        (R.logistic, lambda l, s: stats.logistic(l, s)),
        (R.triangular, lambda l, s: stats.triang(0.5, l - s, 2 * s)),
    ],
)
def test_new_location_scale_families_match_scipy(make, ref):
    q, r = (
        make(torch.tensor(0.4, dtype=F64), torch.tensor(1.7, dtype=F64)),
        ref(0.4, 1.7),
    )
    u = np.linspace(0.01, 0.99, 41)
    np.testing.assert_allclose(
        q.icdf(torch.tensor(u)).numpy(), r.ppf(u), rtol=1e-9, atol=1e-12
    )
    for moment, value in (
        ("mean", r.mean()),
        ("variance", r.var()),
        ("entropy", r.entropy()),
    ):
        got = getattr(q, moment)
        assert abs(float(got() if callable(got) else got) - value) < 1e-9, moment


def test_inverse_cdfs_invert_the_cdf():
    u = torch.linspace(0.001, 0.999, 99, dtype=F64)
    for name in ("Exponential", "Cauchy", "Kumaraswamy", "Logistic", "Triangular"):
        q = build(name, R.FAMILIES[name].params)
        z = q.icdf(u)
        assert (z[1:] > z[:-1]).all(), name
        torch.testing.assert_close(q.cdf(z), u, msg=name)


def test_gamma_rsample_gradient_is_the_implicit_one():
    """torch's d z / d alpha through the rejection sampler equals -(dF/dalpha) / q(z)
    (Figurnov et al. 2018); in the rate it is the explicit -z / rate."""
    alpha = torch.full((500,), 2.5, dtype=F64, requires_grad=True)
    rate = torch.full((500,), 1.5, dtype=F64, requires_grad=True)
    torch.manual_seed(6)
    q = D.Gamma(alpha, rate)
    z = q.rsample()
    d_alpha, d_rate = torch.autograd.grad(z.sum(), [alpha, rate])
    # torch evaluates it with series and asymptotic approximations (relative error about
    # 1e-4)
    torch.testing.assert_close(
        d_alpha, R.implicit_gradient(q, z, "concentration"), rtol=1e-3, atol=1e-6
    )
    torch.testing.assert_close(d_rate, -z.detach() / 1.5)
    torch.testing.assert_close(
        R.implicit_gradient(q, z, "rate"), -z.detach() / 1.5, rtol=1e-5, atol=1e-7
    )


def test_beta_and_dirichlet_from_gammas():
    alpha = torch.tensor([1.5, 2.0, 4.0], dtype=F64, requires_grad=True)
    torch.manual_seed(7)
    z = R.Dirichlet(alpha).rsample((200_000,))  # (S, 3)
    assert torch.allclose(z.sum(-1), torch.ones((), dtype=F64))
    # E[z_1] = alpha_1 / sum(alpha): gradient (sum - alpha_1, -alpha_1, -alpha_1) /
    # sum^2
    grad = torch.autograd.grad(z[:, 0].mean(), alpha)[0]
    total = alpha.sum().item()
    exact = torch.tensor([total - 1.5, -1.5, -1.5], dtype=F64) / total**2
    terms = per_sample_gradients(
        R.Dirichlet, {"concentration": alpha.detach()}, lambda v: v[..., 0], 200_000
    )
    se = terms["concentration"].std(0) / 200_000**0.5
    assert ((grad - exact).abs() < 4 * se).all(), (grad, exact, se)
    for k in range(3):  # marginals are Beta(alpha_k, sum - alpha_k)
        a = alpha[k].item()
        assert (
            stats.kstest(
                z[:4000, k].detach().numpy(), stats.beta(a, total - a).cdf
            ).pvalue
            > 1e-3
        )
    beta = R.Beta(torch.tensor(2.0), torch.tensor(3.0))
    torch.testing.assert_close(
        beta.log_prob(torch.tensor(0.3)), D.Beta(2.0, 3.0).log_prob(torch.tensor(0.3))
    )


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        R.gaussian(0.0, -1.0)
    with pytest.raises(ValueError):
        R.laplace(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="df must be positive"):
        R.student_t(0.0, 1.0, df=0)
    with pytest.raises(ValueError, match="must be scalar"):
        R.LocationScale(D.Normal(torch.zeros(2), torch.ones(2)), 0.0, 1.0)
    with pytest.raises(ValueError, match="no parameter"):
        R.implicit_gradient(D.Gamma(2.0, 1.0), torch.tensor(1.0), "shape")


# --- the VAE with a non-Gaussian posterior --------------------------------------------


def tiny_vae(posterior, prior="matching"):
    torch.manual_seed(0)
    return R.ReparamVAEConfig(
        hidden=(8,), latent_dim=3, data_dim=6, posterior=posterior, prior=prior
    ).build()


def test_logistic_kl_by_monte_carlo_matches_its_closed_form():
    """KL(Logistic(m, s) || N(0, 1)) = -log s - 2 + log(2 pi) / 2 + (m^2 + s^2 pi^2 / 3)
    / 2."""
    model = tiny_vae("logistic", "gaussian")
    x = torch.bernoulli(torch.full((4, 6), 0.5))
    q = model.encode(x).base_dist
    m, s = q.loc.detach(), q.scale.detach()
    exact = (
        -s.log()
        - 2
        + 0.5 * math.log(2 * math.pi)
        + 0.5 * (m**2 + s**2 * math.pi**2 / 3)
    )
    model.KL_SAMPLES = 100_000
    torch.manual_seed(1)
    with torch.no_grad():
        estimate = model.kl_per_dimension(x)
        z = q.sample((100_000,))
        se = (q.log_prob(z) - D.Normal(0.0, 1.0).log_prob(z)).std(0) / 100_000**0.5
    assert ((estimate - exact).abs() < 4 * se).all()


@pytest.mark.parametrize(
    "posterior,prior,closed_form",
    [
        ("gaussian", "matching", True),
        ("laplace", "matching", True),
        ("laplace", "gaussian", True),
        ("logistic", "gaussian", False),
        ("logistic", "matching", False),
    ],
)
def test_reparam_vae_elbo_and_kl(posterior, prior, closed_form):
    model = tiny_vae(posterior, prior)
    x = torch.bernoulli(torch.full((5, 6), 0.5))
    qz, pz = model.encode(x), model.prior()
    assert qz.batch_shape == (5,) and qz.event_shape == (3,) and pz.event_shape == (3,)
    z = qz.rsample((2,))
    assert z.shape == (2, 5, 3) and z.requires_grad
    terms = elbo(model, x, num_samples=2)
    assert terms.kl.shape == (5,) and terms.elbo.isfinite().all()
    has_closed = True
    try:
        D.kl_divergence(qz, pz)
    except NotImplementedError:
        has_closed = False
    assert has_closed == closed_form
    if closed_form:
        torch.testing.assert_close(model.kl_per_dimension(x).sum(-1), terms.kl)


def test_reparam_vae_config_is_registered_and_checked():
    config = R.ReparamVAEConfig(
        hidden=(16,), latent_dim=3, posterior="logistic", prior="gaussian"
    )
    assert config_from_dict(config_to_dict(config)) == config
    with pytest.raises(ValueError, match="posterior must be one of"):
        R.ReparamVAEConfig(posterior="cauchy")
    with pytest.raises(ValueError, match="prior must be one of"):
        R.ReparamVAEConfig(prior="uniform")
