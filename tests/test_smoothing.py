"""Smoothing transformations: the notes' four properties, closed forms, CDFs and gradients."""
import math

import pytest
import torch

from vaebook import smoothing as sm

NOTES = ["smoothing-f1", "smoothing-f2", "smoothing-f3"]
ALL = list(sm.SMOOTHERS)
PS = torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64)


def grid(n=2001):
    return torch.linspace(0, 1, n, dtype=torch.float64)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("beta", [2.0, 5.0, 12.0])
def test_increasing_with_fixed_ends(name, beta):
    f = sm.SMOOTHERS[name]
    u = grid()
    for p in PS:
        z = f(beta, p.expand_as(u), u)
        assert torch.all(z[1:] - z[:-1] >= -1e-9), "not increasing in u"
        assert abs(z[0].item()) < 1e-6 and abs(z[-1].item() - 1) < 1e-6
        assert z.min() >= 0 and z.max() <= 1


@pytest.mark.parametrize("name", NOTES)
def test_pointwise_convergence_to_step(name):
    f = sm.SMOOTHERS[name]
    u = grid(401)
    for p in PS:
        away = (u - (1 - p)).abs() > 0.02  # the limit holds except at the jump u = 1 - p
        gaps = [(f(beta, p.expand_as(u), u) - sm.step(p, u))[away].abs().max().item()
                for beta in (5.0, 50.0, 500.0)]
        assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.05, gaps


@pytest.mark.parametrize("name,nonzero_from_zero", [("smoothing-f1", False), ("smoothing-f2", False),
                                                     ("smoothing-f3", True)])
def test_derivative_nonzero_almost_everywhere(name, nonzero_from_zero):
    """f1 and f2 are flat on the spike [0, 1-p]; beyond it (f3: everywhere) du f > 0."""
    f = sm.SMOOTHERS[name]
    for p in PS:
        u = torch.linspace(0.001, 0.999, 999, dtype=torch.float64, requires_grad=True)
        f(3.0, p.expand_as(u), u).sum().backward()
        on = u.detach() > 1 - p + 1e-3 if not nonzero_from_zero else torch.ones_like(u, dtype=torch.bool)
        assert torch.all(u.grad[on] > 0)
        if not nonzero_from_zero:
            assert torch.all(u.grad[u.detach() < 1 - p - 1e-3] == 0)


def test_closed_forms():
    p, u, beta = torch.tensor(0.3), torch.tensor(0.9), 4.0
    t = (u - 1 + p) / p
    assert torch.isclose(sm.f1(beta, p, u, base=2.0), torch.log2(t * (2**beta - 1) + 1) / beta)
    assert torch.isclose(sm.f1(beta, p, u), torch.log(t * (math.exp(beta) - 1) + 1) / beta)
    assert torch.isclose(sm.f2(beta, p, u), 1 - ((1 - u) / p) ** beta)
    assert torch.isclose(sm.f3(beta, p, u), 1 - p * ((1 - u) / p) ** beta)
    assert torch.isclose(sm.f3(beta, p, torch.tensor(0.35)), (1 - p) * (0.35 / 0.7) ** beta)
    assert sm.f1(beta, p, torch.tensor(0.5)) == 0 and sm.f2(beta, p, torch.tensor(0.5)) == 0


def test_f3_slope_beta_at_the_join_and_flat_ends():
    beta, p = 3.0, torch.tensor(0.4, dtype=torch.float64)
    h = 1e-6
    for point, slope in [(0.6 - h, beta), (0.6 + h, beta), (h, 0.0), (1 - h, 0.0)]:
        u = torch.tensor(point, dtype=torch.float64, requires_grad=True)
        sm.f3(beta, p, u).backward()
        assert abs(u.grad.item() - slope) < 1e-3


def test_spike_exp_is_dvae_inverse_cdf():
    """r(zeta|1) = beta e^(beta zeta)/(e^beta - 1): its CDF at f1 gives back (u - 1 + p)/p."""
    beta, p = 5.0, torch.tensor(0.6, dtype=torch.float64)
    u = torch.linspace(0.41, 0.99, 50, dtype=torch.float64)
    zeta = sm.spike_exp(beta, p, u)
    cdf = (1 - p) + p * torch.expm1(beta * zeta) / math.expm1(beta)
    assert torch.allclose(cdf, u, atol=1e-9)


def test_overlapping_exp_inverts_the_mixture_cdf():
    beta = 10.0
    u = torch.linspace(0.001, 0.999, 300, dtype=torch.float64)
    for q in (0.05, 0.5, 0.95):
        zeta = sm.overlapping_exp(beta, torch.full_like(u, q), u)
        r0_cdf = -torch.expm1(-beta * zeta) / -math.expm1(-beta)
        r1_cdf = (torch.exp(beta * (zeta - 1)) - math.exp(-beta)) / -math.expm1(-beta)
        assert torch.allclose((1 - q) * r0_cdf + q * r1_cdf, u, atol=1e-8)


def test_power_function_inverts_cdf_and_has_the_implicit_gradient():
    # beta = 4 (lambda = 1/4): at DVAE#'s beta = 30-40 the quantiles near 0 and 1 lie closer to the ends
    # (zeta ~ 1e-21) than float64 resolves next to 1.
    beta, u = 4.0, torch.tensor([0.1, 0.45, 0.55, 0.9], dtype=torch.float64)
    q = torch.full_like(u, 0.5, requires_grad=True)
    zeta = sm.power_function(beta, q, u)
    assert torch.allclose(sm.power_mixture_cdf(zeta.detach(), q.detach(), 1 / beta), u, atol=1e-9)
    zeta.sum().backward()
    h = 1e-6
    fd = (sm.power_function(beta, q.detach() + h, u) - sm.power_function(beta, q.detach() - h, u)) / (2 * h)
    assert torch.allclose(q.grad, fd, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", ["smoothing-f1", "smoothing-f2", "smoothing-f3",
                                  "dvae-spike-exp", "dvaepp-overlapping-exp"])
def test_gradient_in_p_matches_finite_differences(name):
    f = sm.SMOOTHERS[name]
    u = torch.tensor([0.15, 0.35, 0.65, 0.85, 0.97], dtype=torch.float64)
    p = torch.full_like(u, 0.55, requires_grad=True)
    f(4.0, p, u).sum().backward()
    h = 1e-6
    fd = (f(4.0, p.detach() + h, u) - f(4.0, p.detach() - h, u)) / (2 * h)
    assert torch.allclose(p.grad, fd, rtol=1e-4, atol=1e-7)
    assert p.grad[u > 0.45].abs().min() > 0  # the gradient flows through p past the spike


def test_smooth_samples_have_the_bernoulli_mean_in_the_limit():
    torch.manual_seed(0)
    logits = torch.full((200_000,), 0.4)
    for name in NOTES:
        z = sm.smooth(name, logits, beta=200.0)
        assert abs(z.mean().item() - torch.sigmoid(torch.tensor(0.4)).item()) < 0.01
    with pytest.raises(KeyError):
        sm.smooth("nope", logits, 1.0)
    with pytest.raises(ValueError):
        sm.smooth("smoothing-f1", logits, 0.0)


def test_f1_steep_form_agrees_with_the_direct_one():
    u = torch.linspace(0, 1, 501, dtype=torch.float64)
    p = torch.full_like(u, 0.4)
    t = ((u - 0.6) / 0.4).clamp(0, 1)
    for beta in (29.0, 31.0, 60.0):
        direct = torch.log1p(t * math.expm1(beta)) / beta
        assert torch.allclose(sm.f1(beta, p, u), direct, atol=1e-12)
    z = sm.f1(400.0, p.float(), u.float())  # float32, a^-beta underflows: still finite, 0 on the spike
    assert torch.isfinite(z).all() and z[u.float() < 0.6].abs().max() == 0


@pytest.mark.parametrize("name", NOTES)
def test_no_nan_gradients_at_the_ends_of_u(name):
    p = torch.full((3,), 0.3, requires_grad=True)
    u = torch.tensor([0.0, 0.5, 1.0 - 1e-7])
    sm.SMOOTHERS[name](0.5, p, u).sum().backward()  # beta < 1: the power functions are steep at the ends
    torch.manual_seed(0)
    logits = torch.zeros(100_000, requires_grad=True)
    sm.smooth(name, logits, 0.5).sum().backward()
    assert torch.isfinite(p.grad[1:]).all() and torch.isfinite(logits.grad).all()


# --- closed-form means of the smoothers (the smoothing chapter's bias figure) ----

@pytest.mark.parametrize("name", list(sm.SMOOTHERS))
@pytest.mark.parametrize("beta", [0.7, 3.0, 12.0])
def test_expected_value_matches_monte_carlo(name, beta):
    torch.manual_seed(0)
    p = torch.tensor([0.15, 0.5, 0.85], dtype=torch.float64)
    u = torch.rand(50_000, 1, dtype=torch.float64).clamp(1e-9, 1 - 1e-9)
    zeta = sm.SMOOTHERS[name](beta, p.expand(len(u), 3), u.expand(len(u), 3))
    mean, se = zeta.mean(0), zeta.std(0) / len(u) ** 0.5
    exact = sm.expected_value(name, beta, p)
    assert torch.all((mean - exact).abs() < 5 * se + 1e-12), (mean, exact, se)


def test_expected_value_closed_forms_and_limits():
    p = torch.tensor([0.1, 0.4, 0.9], dtype=torch.float64)
    assert torch.allclose(sm.expected_value("smoothing-f2", 3.0, p), 0.75 * p)
    assert torch.allclose(sm.expected_value("smoothing-f3", 1.0, p), torch.full_like(p, 0.5))  # f3(1, p, u) = u
    # the base of f1 only rescales beta: rate = beta ln a
    assert torch.allclose(sm.expected_value("smoothing-f1", 4.0, p, base=2.0),
                          sm.expected_value("smoothing-f1", 4.0 * math.log(2.0), p))
    assert torch.equal(sm.expected_value("smoothing-f1", 4.0, p), sm.expected_value("dvae-spike-exp", 4.0, p))
    for name in sm.SMOOTHERS:  # every smoother's mean tends to E[z] = p as beta grows
        gaps = [(sm.expected_value(name, b, p) - p).abs().max().item() for b in (2.0, 20.0, 200.0)]
        assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01, (name, gaps)
    with pytest.raises(KeyError, match="unknown smoother"):
        sm.expected_value("smoothing-f4", 2.0, p)
