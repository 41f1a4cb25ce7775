"""Smoothing transformations: the notes' four properties, closed forms, CDFs, gradients,
and no NaN or value outside [0, 1] at any kappa a reader or a training run can reach."""

import math

import pytest
import torch

from vaebook import smoothing as sm

NOTES = ["smoothing-f1", "smoothing-f2", "smoothing-f3"]
ALL = list(sm.SMOOTHERS)
F64 = torch.float64
FUNCTIONS = {  # the transformations zeta = f(kappa, p, u) behind each smoother class
    "smoothing-f1": sm.f1,
    "smoothing-f2": sm.f2,
    "smoothing-f3": sm.f3,
    "dvae-spike-exp": sm.spike_exp,
    "dvaepp-overlapping-exp": sm.overlapping_exp,
    "dvae-sharp-power": sm.power_function,
}
PS = torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64)


def grid(n=2001):
    return torch.linspace(0, 1, n, dtype=torch.float64)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("kappa", [2.0, 5.0, 12.0])
def test_increasing_with_fixed_ends(name, kappa):
    f = FUNCTIONS[name]
    u = grid()
    for p in PS:
        z = f(kappa, p.expand_as(u), u)
        assert torch.all(z[1:] - z[:-1] >= -1e-9), "not increasing in u"
        assert abs(z[0].item()) < 1e-6 and abs(z[-1].item() - 1) < 1e-6
        assert z.min() >= 0 and z.max() <= 1


@pytest.mark.parametrize("name", NOTES)
def test_pointwise_convergence_to_step(name):
    f = FUNCTIONS[name]
    u = grid(401)
    for p in PS:
        away = (u - (1 - p)).abs() > 0.02  # the limit holds except at the jump 1 - p
        gaps = [
            (f(kappa, p.expand_as(u), u) - sm.step(p, u))[away].abs().max().item()
            for kappa in (5.0, 50.0, 500.0)
        ]
        assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.05, gaps


@pytest.mark.parametrize(
    "name,nonzero_from_zero",
    [("smoothing-f1", False), ("smoothing-f2", False), ("smoothing-f3", True)],
)
def test_derivative_nonzero_almost_everywhere(name, nonzero_from_zero):
    """f1 and f2 are flat on the spike [0, 1-p]; beyond it (f3: everywhere) du f > 0."""
    f = FUNCTIONS[name]
    for p in PS:
        u = torch.linspace(0.001, 0.999, 999, dtype=torch.float64, requires_grad=True)
        f(3.0, p.expand_as(u), u).sum().backward()
        on = (
            u.detach() > 1 - p + 1e-3
            if not nonzero_from_zero
            else torch.ones_like(u, dtype=torch.bool)
        )
        assert torch.all(u.grad[on] > 0)
        if not nonzero_from_zero:
            assert torch.all(u.grad[u.detach() < 1 - p - 1e-3] == 0)


def test_closed_forms():
    p, u, kappa = torch.tensor(0.3), torch.tensor(0.9), 4.0
    t = (u - 1 + p) / p
    assert torch.isclose(
        sm.f1(kappa, p, u, base=2.0), torch.log2(t * (2**kappa - 1) + 1) / kappa
    )
    assert torch.isclose(
        sm.f1(kappa, p, u), torch.log(t * (math.exp(kappa) - 1) + 1) / kappa
    )
    assert torch.isclose(sm.f2(kappa, p, u), 1 - ((1 - u) / p) ** kappa)
    assert torch.isclose(sm.f3(kappa, p, u), 1 - p * ((1 - u) / p) ** kappa)
    assert torch.isclose(
        sm.f3(kappa, p, torch.tensor(0.35)), (1 - p) * (0.35 / 0.7) ** kappa
    )
    assert sm.f1(kappa, p, torch.tensor(0.5)) == 0
    assert sm.f2(kappa, p, torch.tensor(0.5)) == 0


def test_f3_slope_beta_at_the_join_and_flat_ends():
    kappa, p = 3.0, torch.tensor(0.4, dtype=torch.float64)
    h = 1e-6
    for point, slope in [(0.6 - h, kappa), (0.6 + h, kappa), (h, 0.0), (1 - h, 0.0)]:
        u = torch.tensor(point, dtype=torch.float64, requires_grad=True)
        sm.f3(kappa, p, u).backward()
        assert abs(u.grad.item() - slope) < 1e-3


def test_spike_exp_is_dvae_inverse_cdf():
    """r(zeta|1) = kappa e^(kappa zeta) / (e^kappa - 1): its CDF at f1 is
    (u - 1 + p) / p."""
    kappa, p = 5.0, torch.tensor(0.6, dtype=torch.float64)
    u = torch.linspace(0.41, 0.99, 50, dtype=torch.float64)
    zeta = sm.spike_exp(kappa, p, u)
    cdf = (1 - p) + p * torch.expm1(kappa * zeta) / math.expm1(kappa)
    assert torch.allclose(cdf, u, atol=1e-9)


def test_overlapping_exp_inverts_the_mixture_cdf():
    kappa = 10.0
    u = torch.linspace(0.001, 0.999, 300, dtype=torch.float64)
    for q in (0.05, 0.5, 0.95):
        zeta = sm.overlapping_exp(kappa, torch.full_like(u, q), u)
        r0_cdf = -torch.expm1(-kappa * zeta) / -math.expm1(-kappa)
        r1_cdf = torch.exp(kappa * (zeta - 1)) - math.exp(-kappa)
        r1_cdf = r1_cdf / -math.expm1(-kappa)
        assert torch.allclose((1 - q) * r0_cdf + q * r1_cdf, u, atol=1e-8)


def test_power_function_inverts_cdf_and_has_the_implicit_gradient():
    # kappa = 4 (lambda = 1/4): at DVAE#'s kappa = 30-40 the quantiles near 0 and 1 lie
    # closer to the ends
    # (zeta ~ 1e-21) than float64 resolves next to 1.
    kappa, u = 4.0, torch.tensor([0.1, 0.45, 0.55, 0.9], dtype=torch.float64)
    q = torch.full_like(u, 0.5, requires_grad=True)
    zeta = sm.power_function(kappa, q, u)
    cdf = sm.power_mixture_cdf(zeta.detach(), q.detach(), 1 / kappa)
    assert torch.allclose(cdf, u, atol=1e-9)
    zeta.sum().backward()
    h = 1e-6
    qd = q.detach()
    f = sm.power_function
    fd = (f(kappa, qd + h, u) - f(kappa, qd - h, u)) / (2 * h)
    assert torch.allclose(q.grad, fd, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize(
    "name",
    [
        "smoothing-f1",
        "smoothing-f2",
        "smoothing-f3",
        "dvae-spike-exp",
        "dvaepp-overlapping-exp",
    ],
)
def test_gradient_in_p_matches_finite_differences(name):
    f = FUNCTIONS[name]
    u = torch.tensor([0.15, 0.35, 0.65, 0.85, 0.97], dtype=torch.float64)
    p = torch.full_like(u, 0.55, requires_grad=True)
    f(4.0, p, u).sum().backward()
    h = 1e-6
    fd = (f(4.0, p.detach() + h, u) - f(4.0, p.detach() - h, u)) / (2 * h)
    assert torch.allclose(p.grad, fd, rtol=1e-4, atol=1e-7)
    assert p.grad[u > 0.45].abs().min() > 0  # it flows through p past the spike


def test_smooth_samples_have_the_bernoulli_mean_in_the_limit():
    torch.manual_seed(0)
    logits = torch.full((200_000,), 0.4)
    for name in NOTES:
        z = sm.smooth(name, logits, sharpness=200.0)
        assert abs(z.mean().item() - torch.sigmoid(torch.tensor(0.4)).item()) < 0.01
    with pytest.raises(KeyError):
        sm.smooth("nope", logits, 1.0)
    with pytest.raises(ValueError):
        sm.smooth("smoothing-f1", logits, 0.0)


def test_f1_steep_form_agrees_with_the_direct_one():
    u = torch.linspace(0, 1, 501, dtype=torch.float64)
    p = torch.full_like(u, 0.4)
    t = ((u - 0.6) / 0.4).clamp(0, 1)
    for kappa in (29.0, 31.0, 60.0):
        direct = torch.log1p(t * math.expm1(kappa)) / kappa
        assert torch.allclose(sm.f1(kappa, p, u), direct, atol=1e-12)
    # float32, a^-kappa underflows: still finite, 0 on the spike
    z = sm.f1(400.0, p.float(), u.float())
    assert torch.isfinite(z).all() and z[u.float() < 0.6].abs().max() == 0


@pytest.mark.parametrize("name", NOTES)
def test_no_nan_gradients_at_the_ends_of_u(name):
    p = torch.full((3,), 0.3, requires_grad=True)
    u = torch.tensor([0.0, 0.5, 1.0 - 1e-7])
    # kappa < 1: the power functions are steep at the ends
    FUNCTIONS[name](0.5, p, u).sum().backward()
    torch.manual_seed(0)
    logits = torch.zeros(100_000, requires_grad=True)
    sm.smooth(name, logits, 0.5).sum().backward()
    assert torch.isfinite(p.grad[1:]).all() and torch.isfinite(logits.grad).all()


# --- closed-form means of the smoothers (the smoothing chapter's bias figure) ----


@pytest.mark.parametrize("name", list(sm.SMOOTHERS))
@pytest.mark.parametrize("kappa", [0.7, 3.0, 12.0])
def test_expected_value_matches_monte_carlo(name, kappa):
    torch.manual_seed(0)
    p = torch.tensor([0.15, 0.5, 0.85], dtype=torch.float64)
    u = torch.rand(50_000, 1, dtype=torch.float64).clamp(1e-9, 1 - 1e-9)
    zeta = FUNCTIONS[name](kappa, p.expand(len(u), 3), u.expand(len(u), 3))
    mean, se = zeta.mean(0), zeta.std(0) / len(u) ** 0.5
    exact = sm.expected_value(name, kappa, p)
    assert torch.all((mean - exact).abs() < 5 * se + 1e-12), (mean, exact, se)


def test_expected_value_closed_forms_and_limits():
    p = torch.tensor([0.1, 0.4, 0.9], dtype=torch.float64)
    assert torch.allclose(sm.expected_value("smoothing-f2", 3.0, p), 0.75 * p)
    assert torch.allclose(
        sm.expected_value("smoothing-f3", 1.0, p), torch.full_like(p, 0.5)
    )  # f3(1, p, u) = u
    # the base of f1 only rescales kappa: rate = kappa ln a
    assert torch.allclose(
        sm.expected_value("smoothing-f1", 4.0, p, base=2.0),
        sm.expected_value("smoothing-f1", 4.0 * math.log(2.0), p),
    )
    assert torch.equal(
        sm.expected_value("smoothing-f1", 4.0, p),
        sm.expected_value("dvae-spike-exp", 4.0, p),
    )
    for name in sm.SMOOTHERS:  # every smoother's mean tends to E[z] = p as kappa grows
        gaps = [
            (sm.expected_value(name, b, p) - p).abs().max().item()
            for b in (2.0, 20.0, 200.0)
        ]
        assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01, (name, gaps)
    with pytest.raises(KeyError, match="unknown smoother"):
        sm.expected_value("smoothing-f4", 2.0, p)


# --- no NaN at any setting (issue 10, section 3) --------------------------------------
# The betas a reader or a training run can reach: the smoothing chapter's slider spans 1
# to 50, the shipped models use 5 fixed or 1 -> 10 annealed, the published ones 4-40; a
# config accepts any positive kappa, so the grid runs from 0.01 to 1e3.
BETAS = (
    0.01,
    0.1,
    0.5,
    1.0,
    2.0,
    3.0,
    5.0,
    10.0,
    12.0,
    14.0,
    20.0,
    35.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1000.0,
)
LOGITS = torch.linspace(-30, 30, 601)  # float32, step 0.1
U = torch.cat(
    [
        torch.linspace(0, 1, 101),  # the ends, and what smooth() draws near them
        torch.tensor([sm.EPS, 1 - sm.EPS, 1e-7, 1 - 1e-7, 0.5 - 1e-7]),
    ]
)


def _grid32():
    logits, u = torch.meshgrid(LOGITS, U, indexing="ij")
    return logits.clone().requires_grad_(True), u


@pytest.mark.parametrize("name", ALL)
def test_float32_values_in_unit_interval_and_finite_gradients_on_the_whole_grid(name):
    f = FUNCTIONS[name]
    logits, u = _grid32()
    for kappa in BETAS:
        zeta = f(kappa, torch.sigmoid(logits), u)
        (grad,) = torch.autograd.grad(zeta.sum(), logits)
        assert zeta.dtype == torch.float32
        assert torch.isfinite(zeta).all(), (name, kappa)
        low, high = zeta.min(), zeta.max()
        assert low >= 0 and high <= 1, (name, kappa, low, high)
        bad = (~torch.isfinite(grad)).sum().item()
        assert bad == 0, f"{name}, kappa = {kappa}: {bad} non-finite gradients"


@pytest.mark.parametrize("name", ALL)
def test_smooth_has_finite_gradients_at_the_published_and_extreme_betas(name):
    """The issue's check: 4,001 logits in [-8, 8], u drawn by smooth(), float32."""
    torch.manual_seed(0)
    for kappa in (5.0, 10.0, 12.0, 14.0, 20.0, 35.0, 1000.0):
        logits = torch.linspace(-8, 8, 4001, requires_grad=True)
        zeta = sm.smooth(name, logits, kappa)
        (grad,) = torch.autograd.grad(zeta.sum(), logits)
        assert torch.isfinite(grad).all(), (name, kappa)
        assert zeta.min() >= 0 and zeta.max() <= 1, (name, kappa)


@pytest.mark.parametrize("name", ["smoothing-f2", "smoothing-f3"])
def test_float32_agrees_with_float64_at_the_same_inputs(name):
    """(f1 is left out: near the spike's edge its slope e^kappa / kappa amplifies the
    rounding of t = (u - 1 + p) / p, in the formula unchanged by the fix.)"""
    f = FUNCTIONS[name]
    logits, u = _grid32()
    p = torch.sigmoid(logits.detach())
    for kappa in BETAS:
        gap = (f(kappa, p, u).double() - f(kappa, p.double(), u.double())).abs().max()
        assert gap < 5e-6 + 5e-8 * kappa, (name, kappa, gap)


def test_overlapping_exp_float32_inverts_the_mixture_cdf_to_float32_accuracy():
    """Backward error |F(zeta) - u| (F in float64): where F is flat (zeta in the
    middle at a large kappa) any zeta is right; where it is steep, zeta is within a few
    ulps."""
    logits, u = _grid32()
    q = sm._clip(torch.sigmoid(logits.detach()))
    for kappa in BETAS:
        zeta = sm.overlapping_exp(kappa, q, u).double()
        qd, ud, norm = q.double(), u.double(), -math.expm1(-kappa)
        cdf = (
            (1 - qd) * -torch.expm1(-kappa * zeta)
            + qd * (torch.exp(kappa * (zeta - 1)) - math.exp(-kappa))
        ) / norm
        density = (
            kappa
            / norm
            * ((1 - qd) * torch.exp(-kappa * zeta) + qd * torch.exp(kappa * (zeta - 1)))
        )
        # t = e^(-kappa zeta) resolves zeta to about 1e-7 / kappa
        tol = 2e-6 + 5e-7 * density + 2e-7 / kappa
        assert torch.all((cdf - ud).abs() <= tol), kappa


def _old_f2(kappa, p, u):  # the formulas before the fix (float64 references)
    p = sm._clip(p)
    zeta = 1 - ((1 - u) / p).clamp(0, 1.001).pow(kappa)
    return torch.where(u >= 1 - p, zeta, torch.zeros_like(u))


def _old_f3(kappa, p, u):
    p = sm._clip(p)
    lower = (1 - p) * (u / (1 - p)).clamp(0.0, 1.001).pow(kappa)
    upper = 1 - p * ((1 - u) / p).clamp(0.0, 1.001).pow(kappa)
    return torch.where(u <= 1 - p, lower, upper)


def _old_overlapping_exp(kappa, p, u):
    q = sm._clip(p)
    b = math.exp(-kappa)
    c = (1 - q) - q * b - u * (1 - b)
    disc = torch.sqrt(c * c + 4 * (1 - q) * q * b)
    t = torch.where(c >= 0, (c + disc) / (2 * (1 - q)), 2 * q * b / (disc - c))
    return (-torch.log(t) / kappa).clamp(0.0, 1.0)


@pytest.mark.parametrize(
    "name, old",
    [
        ("smoothing-f2", _old_f2),
        ("smoothing-f3", _old_f3),
        ("dvaepp-overlapping-exp", _old_overlapping_exp),
    ],
)
def test_fixed_smoothers_agree_with_the_previous_formulas_where_finite(name, old):
    """In float64, values and d zeta / d logit, wherever the old ones were finite and in
    [0, 1]. Up to kappa = 200: beyond, e^(-kappa) underflows to 0 in the old closed form
    even in float64."""
    f = FUNCTIONS[name]
    logits, u = torch.meshgrid(LOGITS.double(), U.double(), indexing="ij")
    logits.requires_grad_(True)
    for kappa in [b for b in BETAS if b <= 200]:
        z_old = old(kappa, torch.sigmoid(logits), u)
        (g_old,) = torch.autograd.grad(z_old.sum(), logits)
        z_new = f(kappa, torch.sigmoid(logits), u)
        (g_new,) = torch.autograd.grad(z_new.sum(), logits)
        ok = torch.isfinite(z_old) & (z_old >= 0) & (z_old <= 1)
        torch.testing.assert_close(z_new[ok], z_old[ok].detach(), rtol=0, atol=1e-9)
        ok &= torch.isfinite(g_old) & (g_old.abs() < sm.GRAD_MAX / 10)
        torch.testing.assert_close(g_new[ok], g_old[ok], rtol=1e-6, atol=1e-9)


def test_overlapping_exp_implicit_gradients_match_finite_differences():
    kappa = 12.0
    u = torch.tensor([0.01, 0.2, 0.45, 0.6, 0.8, 0.99], dtype=torch.float64)
    u.requires_grad_(True)
    q = torch.full_like(u, 0.4, requires_grad=True)
    dq, du = torch.autograd.grad(sm.overlapping_exp(kappa, q, u).sum(), (q, u))
    h, f = 1e-7, sm.overlapping_exp
    qd, ud = q.detach(), u.detach()
    fd_q = (f(kappa, qd + h, ud) - f(kappa, qd - h, ud)) / (2 * h)
    fd_u = (f(kappa, qd, ud + h) - f(kappa, qd, ud - h)) / (2 * h)
    torch.testing.assert_close(dq, fd_q, rtol=1e-5, atol=0)
    torch.testing.assert_close(du, fd_u, rtol=1e-5, atol=0)


def test_slider_and_shipped_schedules_stay_inside_the_tested_sharpnesses():
    """What the smoothing chapter's slider and the shipped models' schedules reach lies
    in BETAS' range (the sharpnesses kappa tested above), so the tests above cover every
    kappa a reader can choose there."""
    import re
    from pathlib import Path

    from vaebook import pretrained

    text = (Path(__file__).parents[1] / "chapters" / "smoothing.md").read_text()
    listed = re.search(r"SLIDER_KAPPAS = \[([^\]]*)\]", text).group(1)
    slider = [float(v) for v in listed.split(",")]
    reached = set(slider)
    for name in pretrained.available():
        config = pretrained.load(name).model_config
        if getattr(config, "estimator", "").startswith(("smoothing", "dvae")):
            start = config.sharpness_start or config.sharpness
            reached |= {config.sharpness, start}
    assert min(BETAS) <= min(reached) and max(reached) <= max(BETAS), sorted(reached)
    # and no schedule reaches kappa <= 0 (smooth() refuses it): a linear one from 0 is
    # refused
    from vaebook.annealing import SharpnessSchedule

    for start, end in ((0.0, 10.0), (-1.0, 10.0), (1.0, 0.0)):
        with pytest.raises(ValueError, match="positive|> 0"):
            SharpnessSchedule(end, start, "linear")


# --- the smoother classes: refusals, densities against their CDFs, means --------------

CLASSES = [*sm.SMOOTHERS.values(), sm.Step]


def make(cls, p, sharpness=3.0):
    return cls(probs=p) if cls is sm.Step else cls(sharpness, probs=p)


@pytest.mark.parametrize("bad", [1.5, -0.2, math.nan])
def test_p_outside_the_unit_interval_is_refused(bad):
    """A reader's or a config's p: ValueError naming the range, for every entry point
    (the check is the classes' one table, vaebook.constraints)."""
    u = torch.tensor([0.3, 0.9])
    p = torch.tensor([0.5, bad])
    for f in (sm.f1, sm.f2, sm.f3, sm.spike_exp, sm.overlapping_exp, sm.power_function):
        with pytest.raises(ValueError, match=r"probs must be in \[0, 1\], got"):
            f(2.0, p, u)
    with pytest.raises(ValueError, match=r"probs must be in \[0, 1\]"):
        sm.step(p, u)
    for name in sm.SMOOTHERS:
        with pytest.raises(ValueError, match=r"probs must be in \[0, 1\]"):
            sm.expected_value(name, 2.0, bad)  # a plain number too


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -1.0, "sharp"])
def test_sharpness_outside_its_range_is_refused(bad):
    logits = torch.zeros(3)
    for name in sm.SMOOTHERS:
        with pytest.raises(ValueError, match="sharpness must be a finite number > 0"):
            sm.smooth(name, logits, sharpness=bad)
        with pytest.raises(ValueError, match="sharpness must be a finite number > 0"):
            sm.expected_value(name, bad, 0.5)
    with pytest.raises(ValueError, match="base must be a finite number > 1"):
        sm.F1(2.0, probs=0.5, base=1.0)
    with pytest.raises(ValueError, match="either probs or logits"):
        sm.F2(2.0, probs=0.5, logits=torch.zeros(1))


@pytest.mark.parametrize("cls", list(sm.SMOOTHERS.values()), ids=list(sm.SMOOTHERS))
@pytest.mark.parametrize("sharpness", [0.5, 3.0, 12.0])
def test_log_prob_is_the_derivative_of_the_cdf(cls, sharpness):
    """exp(log_prob) against central differences of the closed-form CDF on (0, 1) (away
    from f3's join at 1 - p), float64; at 0, the atom's mass where there is one."""
    p = torch.tensor([0.2, 0.5, 0.8], dtype=F64)
    q = make(cls, p, sharpness)
    zeta = torch.linspace(0.02, 0.98, 97, dtype=F64)[:, None]
    h = 1e-6
    numeric = (q.cdf(zeta + h) - q.cdf(zeta - h)) / (2 * h)
    density = q.log_prob(zeta).exp()
    away = ((zeta - (1 - p)).abs() > 1e-3).expand_as(density)
    torch.testing.assert_close(density[away], numeric[away], rtol=1e-5, atol=1e-6)
    zero = torch.zeros(1, dtype=F64)
    if cls in (sm.F1, sm.F2, sm.SpikeExp):  # an atom 1 - p at 0: cdf(0) = its mass
        torch.testing.assert_close(q.log_prob(zero).exp(), q.cdf(zero))
        torch.testing.assert_close(q.cdf(zero), 1 - p)
    else:
        torch.testing.assert_close(q.cdf(zero), torch.zeros(3, dtype=F64))
    torch.testing.assert_close(
        q.cdf(torch.ones(1, dtype=F64)), torch.ones(3, dtype=F64)
    )


@pytest.mark.parametrize("cls", CLASSES, ids=[*sm.SMOOTHERS, "step"])
def test_cdf_inverts_icdf_and_the_mean_matches_monte_carlo(cls):
    """cdf(icdf(u)) = u off the atom; ``mean`` within 4 standard errors of 200,000
    draws of ``sample`` (the closed forms of ``expected_value``)."""
    p = torch.tensor([0.1, 0.5, 0.9], dtype=F64)
    q = make(cls, p)
    u = torch.linspace(0.01, 0.99, 99, dtype=F64)[:, None]
    if cls is not sm.Step:
        off_atom = (u > 1 - p + 1e-9).expand(99, 3) | (q.cdf(torch.zeros(1)) == 0)
        torch.testing.assert_close(
            q.cdf(q.icdf(u))[off_atom], u.expand(99, 3)[off_atom]
        )
    torch.manual_seed(31)
    draws = q.sample((200_000,))
    assert draws.shape == (200_000, 3) and ((draws >= 0) & (draws <= 1)).all()
    se = draws.std(0) / math.sqrt(len(draws))
    assert ((draws.mean(0) - q.mean).abs() < 4 * se).all(), (draws.mean(0), q.mean)


def test_step_is_bernoulli_without_rsample():
    p = torch.tensor([0.25, 0.75])
    q = sm.Step(probs=p)
    assert not q.has_rsample
    with pytest.raises(NotImplementedError):
        q.rsample()
    z = torch.tensor([0.0, 1.0])
    torch.testing.assert_close(
        q.log_prob(z), torch.distributions.Bernoulli(p).log_prob(z)
    )
    torch.testing.assert_close(q.mean, p)


def test_rsample_is_differentiable_in_the_logits_and_uses_the_same_noise():
    """rsample from logits = the function at sigmoid(logits) and the same uniforms."""
    logits = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    torch.manual_seed(32)
    zeta = sm.F3(4.0, logits=logits).rsample((5,))
    torch.manual_seed(32)
    u = torch.rand(5, 3).clamp(sm.EPS, 1 - sm.EPS)
    torch.testing.assert_close(zeta, sm.f3(4.0, torch.sigmoid(logits), u))
    zeta.sum().backward()
    assert torch.isfinite(logits.grad).all() and (logits.grad != 0).any()
