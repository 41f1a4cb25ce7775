"""Elliptical families (radius x uniform direction) against torch and closed forms."""

import math

import pytest
import torch
from torch import distributions as D

from vaebook import elliptical

F64 = dict(dtype=torch.float64)


def scale_tril(d: int) -> torch.Tensor:
    torch.manual_seed(d)
    a = torch.randn(d, d, **F64)
    return torch.linalg.cholesky(a @ a.T + d * torch.eye(d, **F64))


@pytest.mark.parametrize("d", [1, 2, 5])
def test_gaussian_radius_gives_the_multivariate_normal(d):
    loc, L = torch.linspace(-1, 1, d, **F64), scale_tril(d)
    q = elliptical.multivariate_gaussian(loc, L)
    z = q.rsample((2000,))
    reference = D.MultivariateNormal(loc, scale_tril=L)
    assert torch.allclose(q.log_prob(z), reference.log_prob(z), atol=1e-10)
    assert q.batch_shape == () and q.event_shape == (d,)


def test_sphere_area():
    assert math.isclose(math.exp(elliptical.log_sphere_area(1)), 2.0)  # two points
    assert math.isclose(math.exp(elliptical.log_sphere_area(2)), 2 * math.pi)  # circle
    assert math.isclose(math.exp(elliptical.log_sphere_area(3)), 4 * math.pi)  # sphere


@pytest.mark.parametrize("df", [1.0, 4.0, 30.0])
def test_student_t_in_one_dimension_is_torchs(df):
    loc, L = torch.tensor([0.7], **F64), torch.tensor([[1.3]], **F64)
    q = elliptical.multivariate_student_t(loc, L, df)
    z = q.rsample((2000,))
    reference = D.StudentT(df, loc[0], L[0, 0]).log_prob(z[:, 0])
    assert torch.allclose(q.log_prob(z), reference, atol=1e-10)


def test_student_t_density_and_moments():
    d, df, n = 3, 6.0, 200_000
    loc, L = torch.tensor([0.5, -1.0, 2.0], **F64), scale_tril(d)
    q = elliptical.multivariate_student_t(loc, L, df)
    torch.manual_seed(0)
    z = q.rsample((n,))
    closed = elliptical.multivariate_t_log_prob(z[:100], loc, L, df)
    assert torch.allclose(q.log_prob(z[:100]), closed, atol=1e-10)
    centred = z - loc
    products = centred[:, :, None] * centred[:, None, :]
    se = products.std(0) / n**0.5
    target = df / (df - 2) * L @ L.T
    assert ((products.mean(0) - target).abs() < 4 * se).all()  # Monte Carlo, 4 s.e.
    # the radius: |L^-1 (z - loc)|^2 / d ~ F(d, df), checked by its mean df / (df - 2)
    eps = torch.linalg.solve_triangular(L, centred.T, upper=False).T
    ratio = eps.pow(2).sum(-1) / d
    assert abs(ratio.mean() - df / (df - 2)) < 4 * ratio.std() / n**0.5


def test_density_integrates_to_one_in_two_dimensions():
    loc, L = (
        torch.tensor([0.2, -0.3], **F64),
        torch.tensor([[1.0, 0.0], [0.5, 0.7]], **F64),
    )
    grid = torch.linspace(-40, 40, 801, **F64)
    points = torch.cartesian_prod(grid, grid)
    cell = (grid[1] - grid[0]) ** 2
    for q in (
        elliptical.multivariate_gaussian(loc, L),
        elliptical.multivariate_student_t(loc, L, 4.0),
    ):
        assert abs(q.log_prob(points).exp().sum() * cell - 1) < 2e-3


def test_pathwise_gradient_through_loc_and_scale():
    """d/dloc E[f(z)] and d/dL E[f(z)] for f(z) = |z|^2, whose expectation is
    |loc|^2 + c tr(L L^T) with c = 1 (Gaussian) or df / (df - 2) (Student's t)."""
    n = 200_000
    for make, c in (
        (elliptical.multivariate_gaussian, 1.0),
        (lambda m, s: elliptical.multivariate_student_t(m, s, 8.0), 8.0 / 6.0),
    ):
        loc = torch.tensor([0.5, -1.0], **F64, requires_grad=True)
        L = torch.tensor([[1.0, 0.0], [0.4, 0.8]], **F64, requires_grad=True)
        torch.manual_seed(1)
        z = make(loc, L).rsample((n,))
        g_loc, g_L = torch.autograd.grad(z.pow(2).sum(-1).mean(), [loc, L])
        assert torch.allclose(g_loc, 2 * loc.detach(), atol=0.02)
        assert torch.allclose(g_L.tril(), 2 * c * L.detach(), atol=0.05)


def test_bad_input_is_refused():
    loc, L = torch.zeros(2), torch.eye(2)
    with pytest.raises(ValueError, match="scale_tril must be"):
        elliptical.multivariate_gaussian(loc, torch.eye(3))
    with pytest.raises(ValueError, match="scalar"):
        elliptical.multivariate_gaussian(torch.tensor(0.0), L)
    with pytest.raises(ValueError, match="df"):
        elliptical.multivariate_student_t(loc, L, 0.0)
    with pytest.raises(ValueError, match="radius must be a scalar"):
        elliptical.Elliptical(loc, L, D.Chi2(torch.ones(2)))
    with pytest.raises(ValueError, match="positive integer"):
        elliptical.chi_radius(0)
