"""Computing q(z|x) by a change of variables (notes 1.7), and VAEs with richer
posteriors.

Shapes: S samples, B batch, K latent dimensions, F flow steps, N grid points.

If z = g(eps) with eps ~ p(eps) and g invertible, the substitution formula and
the inverse function theorem give

    q(z|x) = p(eps) |det d eps/dz| = p(eps) |det dz/d eps|^(-1),
    log q(z|x) = log p(eps) - log |det dz/d eps|.

Each transformation here returns ``(z, log |det dz/d eps|)`` with the log-det in
closed form:

- :func:`diagonal_affine`: z = loc + scale * eps, the usual reparameterization;
  log-det = sum_k log scale_k.
- :func:`cholesky_affine`: z = loc + L eps with L lower-triangular with a positive
  diagonal, so q = N(loc, L L^T) has a full covariance; log-det = sum_k log L_kk.
- :func:`planar`: one planar flow step (Rezende & Mohamed 2015),
  f(z) = z + u h(w^T z + b), h = tanh; by the matrix determinant lemma
  det = 1 + h'(w^T z + b) u^T w. It is invertible when u^T w >= -1, which
  :func:`constrain_planar_u` guarantees for any raw parameters.

The posteriors are ``torch.distributions`` objects with ``rsample`` and
``log_prob``: :func:`full_covariance_gaussian` (a ``MultivariateNormal``) and
:class:`PlanarFlowPosterior` (a ``TransformedDistribution``). A planar step has no
closed-form inverse, so the flow posterior also offers
:meth:`PlanarFlowPosterior.rsample_and_log_prob`, which returns z together with
log q(z|x) from the log-dets of the forward pass; ``log_prob`` of a sample it just
drew is read from the transforms' cache, and of any other point it inverts each
step by bisection on one scalar.

:class:`PosteriorVAE` (registered as ``"posterior-vae"``) is the Gaussian VAE of
:mod:`vaebook.models` with a choice of posterior family: ``"diagonal"``,
``"fullcov"`` or ``"planar"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch.distributions import constraints

from .distributions import closed_form_kl, diagonal_gaussian, kl_divergence
from .models import MIN_SCALE, BernoulliVAE, VAEConfig
from .objectives import ELBOTerms, training_metrics
from .registry import register

POSTERIORS = ("diagonal", "fullcov", "planar")


# ---------------------------------------------------------------------- transformations


def _check_last_dim(name: str, tensor: torch.Tensor, k: int) -> None:
    if tensor.dim() < 1 or tensor.shape[-1] != k:
        raise ValueError(
            f"{name} must have last dimension {k} (the latent size), got shape "
            f"{tuple(tensor.shape)}"
        )


def diagonal_affine(
    eps: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """z = loc + scale * eps and log |det dz/d eps| = sum_k log scale_k.

    ``eps`` (..., K); ``loc`` and ``scale`` (..., K) broadcast against it. The
    Jacobian is diag(scale). Returns z (..., K) and the log-det (...,).
    """
    k = eps.shape[-1]
    _check_last_dim("loc", loc, k)
    _check_last_dim("scale", scale, k)
    if not (scale > 0).all():
        raise ValueError("scale must be positive (it is the diagonal of the Jacobian)")
    z = loc + scale * eps
    log_det = scale.log().sum(-1).expand(z.shape[:-1])
    return z, log_det


def check_scale_tril(scale_tril: torch.Tensor) -> None:
    """Raise a ValueError unless ``scale_tril`` (..., K, K) is lower-triangular with a
    positive diagonal."""
    if scale_tril.dim() < 2 or scale_tril.shape[-1] != scale_tril.shape[-2]:
        raise ValueError(
            "scale_tril must be a (..., K, K) matrix, got shape "
            f"{tuple(scale_tril.shape)}"
        )
    if not torch.equal(scale_tril, scale_tril.tril()):
        raise ValueError("scale_tril must be lower-triangular (a Cholesky factor)")
    if not (scale_tril.diagonal(dim1=-2, dim2=-1) > 0).all():
        raise ValueError(
            "scale_tril must have a positive diagonal (so that L L^T is positive "
            "definite)"
        )


def cholesky_affine(
    eps: torch.Tensor, loc: torch.Tensor, scale_tril: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """z = loc + L eps and log |det dz/d eps| = sum_k log L_kk.

    L = ``scale_tril`` (..., K, K) is lower-triangular with a positive diagonal, so
    its determinant is the product of the diagonal and z ~ N(loc, L L^T).
    Returns z (..., K) and the log-det (...,).
    """
    check_scale_tril(scale_tril)
    k = scale_tril.shape[-1]
    _check_last_dim("eps", eps, k)
    _check_last_dim("loc", loc, k)
    z = loc + (scale_tril @ eps.unsqueeze(-1)).squeeze(-1)
    log_det = scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1).expand(z.shape[:-1])
    return z, log_det


def scale_tril_from_raw(
    raw_diag: torch.Tensor, raw_offdiag: torch.Tensor, min_scale: float = MIN_SCALE
) -> torch.Tensor:
    """A Cholesky factor from unconstrained numbers: (..., K) and (..., K(K-1)/2) ->
    (..., K, K).

    The diagonal is softplus(raw_diag) + min_scale > 0; the strictly lower part
    is ``raw_offdiag`` row by row; the upper part is zero.
    """
    k = raw_diag.shape[-1]
    if raw_offdiag.shape[-1] != k * (k - 1) // 2:
        raise ValueError(
            f"raw_offdiag needs K(K-1)/2 = {k * (k - 1) // 2} entries for K = {k}, "
            f"got {raw_offdiag.shape[-1]}"
        )
    rows, cols = torch.tril_indices(k, k, offset=-1, device=raw_diag.device)
    lower = raw_diag.new_zeros(*raw_diag.shape, k)
    lower[..., rows, cols] = raw_offdiag
    return lower + torch.diag_embed(F.softplus(raw_diag) + min_scale)


def constrain_planar_u(
    u: torch.Tensor, w: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rezende & Mohamed (2015, App. A): u_hat with w^T u_hat = m(w^T u) > -1, m(a) =
    -1 + softplus(a).

    u_hat = u + (m(w^T u) - w^T u) w / ||w||^2 changes u only along w. Returns
    u_hat (..., K) and 1 + w^T u_hat = softplus(w^T u) (...,), computed without
    cancellation (it is what keeps the log-det finite).
    """
    wu = (w * u).sum(-1)
    w_sq = (w * w).sum(-1)
    movable = (
        w_sq > torch.finfo(w.dtype).tiny
    )  # w = 0: the step is a shift by u tanh(b), always invertible
    one_plus_wu_hat = torch.where(movable, F.softplus(wu), 1 + wu)
    shift = torch.where(
        movable,
        (one_plus_wu_hat - 1 - wu) / w_sq.clamp_min(torch.finfo(w.dtype).tiny),
        0.0,
    )
    return u + shift.unsqueeze(-1) * w, one_plus_wu_hat


def _planar_parameters(u, w, b, k: int, constrain: bool):
    _check_last_dim("u", u, k)
    _check_last_dim("w", w, k)
    b = torch.as_tensor(b, dtype=w.dtype, device=w.device)
    if constrain:
        u_hat, one_plus_wu = constrain_planar_u(u, w)
    else:
        u_hat, one_plus_wu = u, 1 + (w * u).sum(-1)
    return u_hat, one_plus_wu, b


def planar(
    z: torch.Tensor, u: torch.Tensor, w: torch.Tensor, b, constrain: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """One planar step f(z) = z + u_hat tanh(w^T z + b) and log |det df/dz|.

    ``z`` (..., K); ``u``, ``w`` (..., K) and ``b`` (...,) broadcast against it.
    With ``constrain=True`` (the default) u is replaced by u_hat of
    :func:`constrain_planar_u`, so f is invertible for any raw u. The Jacobian is
    I + h'(a) u_hat w^T, a = w^T z + b, and its determinant
    1 + h'(a) w^T u_hat = tanh(a)^2 + (1 - tanh(a)^2)(1 + w^T u_hat). Returns f(z)
    (..., K) and the log-det (...,). With ``constrain=False`` and w^T u < -1 the map
    folds the plane and the determinant changes sign somewhere.
    """
    u_hat, one_plus_wu, b = _planar_parameters(u, w, b, z.shape[-1], constrain)
    t = torch.tanh((z * w).sum(-1) + b)  # (...,)
    det = t**2 + (1 - t**2) * one_plus_wu
    return z + u_hat * t.unsqueeze(-1), det.abs().log()


def planar_inverse(
    y: torch.Tensor,
    u: torch.Tensor,
    w: torch.Tensor,
    b,
    constrain: bool = True,
    iterations: int = 40,
) -> torch.Tensor:
    """The z with planar(z) = y, by bisection on the scalar a = w^T z + b.

    Taking w^T of y = z + u_hat tanh(a) gives w^T y + b = a + (w^T u_hat) tanh(a),
    increasing in a when w^T u_hat >= -1 and with its root within |w^T u_hat| of
    w^T y + b; then z = y - u_hat tanh(a). A final Newton step (from the detached
    root) gives the implicit-function gradient with respect to y and the parameters.
    """
    u_hat, one_plus_wu, b = _planar_parameters(u, w, b, y.shape[-1], constrain)
    if not constrain and (one_plus_wu < 0).any():
        raise ValueError(
            "this planar step is not invertible: w^T u < -1 (use constrain=True)"
        )
    wu = one_plus_wu - 1
    target = (y * w).sum(-1) + b  # (...,)

    def excess(a):
        return a + wu * torch.tanh(a) - target

    with torch.no_grad():
        low, high = target - wu.abs() - 1e-6, target + wu.abs() + 1e-6
        for _ in range(iterations):
            mid = (low + high) / 2
            above = excess(mid) > 0
            high, low = torch.where(above, mid, high), torch.where(above, low, mid)
        a0 = (low + high) / 2
    slope = 1 + wu * (1 - torch.tanh(a0) ** 2)
    a = a0 - excess(a0) / slope.clamp_min(1e-12)
    return y - u_hat * torch.tanh(a).unsqueeze(-1)


def autograd_log_abs_det(fn, eps: torch.Tensor) -> torch.Tensor:
    """Reference: log |det J| of ``fn`` at each row of ``eps`` (N, K) from the autograd
    Jacobian.

    ``fn`` maps a (K,) vector to a (K,) vector; J comes from ``torch.func``
    (``vmap(jacrev(fn))``, all rows at once) and the log-det from ``slogdet``:
    for checking the closed forms, not for training.
    """
    if eps.dim() != 2:
        raise ValueError(f"eps must be (N, K), got shape {tuple(eps.shape)}")
    jacobians = torch.func.vmap(torch.func.jacrev(fn))(eps)  # (N, K, K)
    return torch.linalg.slogdet(jacobians).logabsdet


# --------------------------------------------------------------------------- posteriors


def full_covariance_gaussian(
    loc: torch.Tensor, scale_tril: torch.Tensor
) -> D.MultivariateNormal:
    """q(z|x) = N(loc, L L^T) with L = ``scale_tril``: rsample is
    :func:`cholesky_affine` of eps ~ N(0, I)."""
    check_scale_tril(scale_tril)
    return D.MultivariateNormal(loc, scale_tril=scale_tril)


class PlanarTransform(D.Transform):
    """A planar step as a ``torch.distributions`` transform (forward and log-det in
    closed form).

    The inverse is :func:`planar_inverse` (bisection); with ``cache_size=1`` the
    inverse of the last output is read from the cache instead, so ``log_prob`` of
    a fresh sample costs nothing extra.
    """

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(
        self, u: torch.Tensor, w: torch.Tensor, b: torch.Tensor, cache_size: int = 1
    ):
        super().__init__(cache_size=cache_size)
        self.u, self.w, self.b = u, w, b

    def _call(self, x):
        return planar(x, self.u, self.w, self.b)[0]

    def _inverse(self, y):
        return planar_inverse(y, self.u, self.w, self.b)

    def log_abs_det_jacobian(self, x, y):
        return planar(x, self.u, self.w, self.b)[1]


class PlanarFlowPosterior(D.TransformedDistribution):
    """q(z|x): eps ~ N(0, I), z0 = loc + scale * eps, then F planar steps z_f =
    f_f(z_{f-1}).

    log q(z_F|x) = log N(eps; 0, I) - sum_k log scale_k - sum_f log |det df_f/dz| (notes
    1.7). ``loc``, ``scale`` (B, K); ``u``, ``w`` (B, F, K) and ``b`` (B, F): the flow
    parameters are outputs of the encoder (amortized: each image gets its own flow).
    batch_shape (B,), event_shape (K,). ``mean`` has no closed form.
    """

    def __init__(
        self,
        loc: torch.Tensor,
        scale: torch.Tensor,
        u: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor,
        validate_args: bool | None = None,
    ):
        k = loc.shape[-1]
        for name, tensor in (("u", u), ("w", w)):
            if tensor.shape[:-2] != loc.shape[:-1] or tensor.shape[-1] != k:
                raise ValueError(
                    f"{name} must be (..., F, K) = {(*loc.shape[:-1], 'F', k)}, got "
                    f"{tuple(tensor.shape)}"
                )
        if b.shape != u.shape[:-1]:
            raise ValueError(
                f"b must be (..., F) = {tuple(u.shape[:-1])}, got {tuple(b.shape)}"
            )
        base = D.Independent(D.Normal(torch.zeros_like(loc), torch.ones_like(loc)), 1)
        steps = [D.AffineTransform(loc, scale, event_dim=1, cache_size=1)]
        steps += [
            PlanarTransform(u[..., f, :], w[..., f, :], b[..., f])
            for f in range(u.shape[-2])
        ]
        super().__init__(base, steps, validate_args=validate_args)
        self.loc, self.scale = loc, scale

    @property
    def num_flows(self) -> int:
        return len(self.transforms) - 1

    def rsample_and_log_prob(
        self, sample_shape=torch.Size()
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """z (S..., B, K) by the pathwise route and log q(z|x) (S..., B) from the
        forward log-dets."""
        eps = self.base_dist.rsample(sample_shape)
        log_q = self.base_dist.log_prob(eps)
        z = eps
        for step in self.transforms:
            z_next = step(z)
            log_q = log_q - step.log_abs_det_jacobian(z, z_next)
            z = z_next
        return z, log_q


def planar_flow_posterior(loc, scale, u, w, b) -> PlanarFlowPosterior:
    """Shorthand for :class:`PlanarFlowPosterior` (u, w (..., F, K), b (..., F); F may
    be 1)."""
    return PlanarFlowPosterior(loc, scale, u, w, b)


def rsample_and_log_prob(
    q: D.Distribution, sample_shape=torch.Size()
) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, log q(z)) for pathwise samples z ~ q: the distribution's own method where it
    has one."""
    if hasattr(q, "rsample_and_log_prob"):
        return q.rsample_and_log_prob(sample_shape)
    if not q.has_rsample:
        raise ValueError(f"{type(q).__name__} has no pathwise sampler (rsample)")
    z = q.rsample(sample_shape)
    return z, q.log_prob(z)


def density_on_grid(
    q: D.Distribution, limit: float = 4.0, steps: int = 201, center=(0.0, 0.0)
):
    """Evaluate a 2-D density on a square grid: (z1, z2, density, cell area).

    ``z1``, ``z2`` and ``density`` are (steps, steps) tensors over
    [center - limit, center + limit]^2; ``density.sum() * cell_area`` approximates
    the integral of q (1 when q is a normalized density with its mass inside the
    square).
    """
    if tuple(q.event_shape) != (2,) or tuple(q.batch_shape) != ():
        raise ValueError(
            "density_on_grid needs one 2-D distribution (batch_shape (), event_shape "
            "(2,)), "
            f"got batch_shape {tuple(q.batch_shape)}, event_shape "
            f"{tuple(q.event_shape)}"
        )
    c1, c2 = (float(c) for c in center)
    g1 = torch.linspace(c1 - limit, c1 + limit, steps)
    g2 = torch.linspace(c2 - limit, c2 + limit, steps)
    z1, z2 = torch.meshgrid(g1, g2, indexing="xy")
    points = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=-1)  # (N, 2)
    with torch.no_grad():
        density = q.log_prob(points.to(q.sample().dtype)).exp()
    cell_area = (g1[1] - g1[0]).item() * (g2[1] - g2[0]).item()
    return z1, z2, density.reshape(steps, steps), cell_area


# --------------------------------------------------------------------------- the VAE


@register("posterior-vae")
@dataclass
class PosteriorVAEConfig(VAEConfig):
    """A Gaussian-latent VAE whose q(z|x) is diagonal, full-covariance or a planar flow.

    Same encoder and decoder as ``gaussian-vae``; only the encoder's last layer
    grows: 2K outputs (diagonal), 2K + K(K-1)/2 (full covariance: the strictly
    lower part of L) or 2K + F(2K + 1) (``num_flows`` = F planar steps: u, w, b each).
    """

    hidden: tuple[int, ...] = (200, 200)
    latent_dim: int = 16
    posterior: str = "planar"
    num_flows: int = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.posterior not in POSTERIORS:
            raise ValueError(
                f"posterior must be one of {POSTERIORS}, got {self.posterior!r}"
            )
        if self.num_flows < 1:
            raise ValueError(f"num_flows must be at least 1, got {self.num_flows}")

    @property
    def extra_outputs(self) -> int:
        """Encoder outputs beyond loc and scale."""
        k = self.latent_dim
        return {
            "diagonal": 0,
            "fullcov": k * (k - 1) // 2,
            "planar": self.num_flows * (2 * k + 1),
        }[self.posterior]

    def build(self) -> "PosteriorVAE":
        return PosteriorVAE(self)


class PosteriorVAE(BernoulliVAE):
    """p(z) = N(0, I), p(x|z) = Bernoulli(sigmoid(logits(z))), q(z|x) of the configured
    family.

    The ELBO uses the closed-form KL where torch has one (diagonal, full
    covariance) and log q(z|x) - log p(z) at the sampled z otherwise (the flow).
    """

    def __init__(self, config: PosteriorVAEConfig):
        super().__init__(config, 2 * config.latent_dim + config.extra_outputs)

    def encode(self, x: torch.Tensor) -> D.Distribution:
        """x (B, D) -> q(z|x) with batch_shape (B,), event_shape (K,)."""
        k, h = self.latent_dim, self.encoder(x)
        loc, raw_scale, rest = h[..., :k], h[..., k : 2 * k], h[..., 2 * k :]
        kind = self.config.posterior
        if kind == "diagonal":
            return diagonal_gaussian(loc, F.softplus(raw_scale) + MIN_SCALE)
        if kind == "fullcov":
            return D.MultivariateNormal(
                loc, scale_tril=scale_tril_from_raw(raw_scale, rest)
            )
        flow = rest.reshape(
            *rest.shape[:-1], self.config.num_flows, 2 * k + 1
        )  # (B, F, 2K + 1)
        return PlanarFlowPosterior(
            loc,
            F.softplus(raw_scale) + MIN_SCALE,
            flow[..., :k],
            flow[..., k : 2 * k],
            flow[..., 2 * k],
        )

    def prior_for(self, qz: D.Distribution) -> D.Distribution:
        """p(z) = N(0, I) as the type torch pairs with ``qz`` for a closed-form KL."""
        pz = self.prior()
        if isinstance(qz, D.MultivariateNormal):
            return D.MultivariateNormal(pz.mean, scale_tril=torch.diag_embed(pz.stddev))
        return pz

    def closed_form_kl(self, qz: D.Distribution) -> torch.Tensor | None:
        """KL(q(z|x) || N(0, I)) (B,) where torch has a closed form, else None."""
        return closed_form_kl(qz, self.prior_for(qz))

    def elbo(self, x: torch.Tensor, num_samples: int = 1) -> ELBOTerms:
        """ELBO terms (B,) with ``num_samples`` pathwise samples of z."""
        if num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, got {num_samples}")
        qz = self.encode(x)
        z, log_q = rsample_and_log_prob(qz, (num_samples,))  # (S, B, K), (S, B)
        log_px_given_z = self.decode(z).log_prob(x).mean(0)
        kl = kl_divergence(qz, self.prior_for(qz), z, log_q)  # closed form, else MC
        return ELBOTerms(log_px_given_z, kl)

    def objective(self, x: torch.Tensor, state) -> dict[str, torch.Tensor]:
        """Training objective for :func:`vaebook.training.fit`: -(E_q[log p(x|z)] - beta
        KL), batch mean."""
        terms = self.elbo(x, state.config.num_samples)
        loss = -terms.weighted(state.beta).mean()
        return training_metrics(loss, terms.log_px_given_z, terms.kl)

    def log_importance_weights(self, x: torch.Tensor, num_samples: int) -> torch.Tensor:
        """log w_s = log p(x|z_s) + log p(z_s) - log q(z_s|x), z_s ~ q(z|x): (S, B).

        log q comes from the forward pass (no inverse needed), so the
        importance-weighted bound of any posterior family costs one decoder pass per
        sample.
        """
        z, log_q = rsample_and_log_prob(self.encode(x), (num_samples,))
        return self.decode(z).log_prob(x) + self.prior().log_prob(z) - log_q
