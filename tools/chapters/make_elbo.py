"""Writes book/elbo.ipynb (notes 1.3 and 1.4)."""
from common import INSTALL, code, md, write

cells = [
    md(r"""
# The encoder and the ELBO

The previous chapter ended with two facts: $\log p_\theta(x) = \log \int p_\theta(x \mid z)\,p(z)\,dz$
is intractable for a realistic latent space, and samples of $z$ are only useful where the posterior
$p_\theta(z \mid x)$ lives. Bayes' rule gives that posterior,

$$
p_\theta(z \mid x) = \frac{p_\theta(x, z)}{p_\theta(x)} = \frac{p_\theta(x \mid z)\, p(z)}{p_\theta(x)},
$$

but it needs $p_\theta(x)$, the very integral we cannot compute. A variational autoencoder therefore
adds a second network, the **encoder**, which maps $x$ to the parameters of a simple distribution
$q_\phi(z \mid x)$ that approximates $p_\theta(z \mid x)$:

$$
(\mu, \log \sigma) = \mathrm{EncoderNeuralNet}_\phi(x), \qquad
q_\phi(z \mid x) = \mathcal N(z; \mu, \operatorname{diag}(\sigma^2)).
$$

This chapter derives the objective that trains both networks together, checks every step of the
derivation numerically on models where all the quantities are known, compares the KL regularizer
with the notes' alternative, and puts a slider on the KL weight.
"""),
    code(INSTALL),
    code("""
import torch
from torch import distributions as D
from vaebook import plots, pretrained
from vaebook.data import BinarizedMNIST
from vaebook.evaluation import active_units, evaluate
from vaebook.marginal import log_marginal_grid, posterior_gap_on_grid
from vaebook.models import LinearGaussian
from vaebook.objectives import elbo
from vaebook.regularizers import gaussian_kl, monte_carlo_kl
from vaebook.widgets import explore

test = BinarizedMNIST.load("test", "dynamic", seed=0)
x_test = test.fixed()
print(test.describe(fixed=True))
"""),
    md(r"""
## Deriving the evidence lower bound

For any $q_\phi(z \mid x)$, $\log p_\theta(x)$ does not depend on $z$, so it equals its own
expectation under $q_\phi$; then multiply and divide by $q_\phi(z \mid x)$ inside the logarithm:

$$
\begin{aligned}
\log p_\theta(x) &= \mathbb E_{z \sim q_\phi(\cdot \mid x)}\big[\log p_\theta(x)\big]
 = \mathbb E_{q_\phi}\Big[\log \frac{p_\theta(x, z)}{p_\theta(z \mid x)}\Big]
 = \mathbb E_{q_\phi}\Big[\log \frac{p_\theta(x, z)}{q_\phi(z \mid x)} \cdot \frac{q_\phi(z \mid x)}{p_\theta(z \mid x)}\Big] \\
&= \underbrace{\mathbb E_{q_\phi}\Big[\log \frac{p_\theta(x, z)}{q_\phi(z \mid x)}\Big]}_{\mathcal L_{\theta,\phi}(x)}
 + \underbrace{\mathbb E_{q_\phi}\Big[\log \frac{q_\phi(z \mid x)}{p_\theta(z \mid x)}\Big]}_{D_{\mathrm{KL}}(q_\phi(z \mid x)\,\|\,p_\theta(z \mid x))} .
\end{aligned}
\qquad (*)
$$

The second term of $(*)$ is a KL divergence, never negative and zero if and only if $q_\phi(z \mid x)$
and $p_\theta(z \mid x)$ coincide. The first is the **evidence lower bound** (ELBO):

$$
\mathcal L_{\theta,\phi}(x) = \mathbb E_{q_\phi(z \mid x)}\big[\log p_\theta(x, z) - \log q_\phi(z \mid x)\big]
 = \log p_\theta(x) - D_{\mathrm{KL}}(q_\phi(z \mid x) \,\|\, p_\theta(z \mid x)) \le \log p_\theta(x).
$$

Maximizing it over $\theta$ and $\phi$ together raises $\log p_\theta(x)$ and pulls $q_\phi$ towards the
true posterior. Splitting $p_\theta(x, z) = p_\theta(x \mid z)\,p(z)$ gives the form used for training:

$$
\mathcal L_{\theta,\phi}(x) = \underbrace{\mathbb E_{q_\phi(z \mid x)}[\log p_\theta(x \mid z)]}_{\text{reconstruction}}
 - \underbrace{D_{\mathrm{KL}}(q_\phi(z \mid x) \,\|\, p(z))}_{\text{regularizer}} .
$$

### Checking $(*)$ where everything is exact: probabilistic PCA

In a linear-Gaussian model, $p(z) = \mathcal N(0, I)$ and $p_\theta(x \mid z) = \mathcal N(Wz + b, \sigma^2 I)$,
the marginal $p_\theta(x) = \mathcal N(b, WW^\top + \sigma^2 I)$ and the posterior are Gaussian in
closed form. We fit one to the 60,000 MNIST training images (grey values, as continuous data, so the
numbers below are log-*densities* and not comparable with the binarized nats elsewhere) by maximum
likelihood (Tipping & Bishop 1999), with $K = 16$ latent dimensions:
"""),
    code("""
grey_train = BinarizedMNIST.load("train", "grey").grey
grey_test = BinarizedMNIST.load("test", "grey").grey
ppca = LinearGaussian.fit(grey_train, latent_dim=16)
print(f"PPCA on MNIST grey values: K = 16, noise sigma = {ppca.sigma.item():.4f}")
x = grey_test[:5]
"""),
    md(r"""
Give it a deliberately imperfect encoder: the exact posterior mean but a *diagonal* covariance (a
mean-field guess). The maximum-likelihood $W$ has orthogonal columns, which makes the true posterior
covariance diagonal too; rotating the latent space, $W \to W R$ with $R$ orthogonal, leaves
$p_\theta(x)$ unchanged and makes the posterior correlated, so the guess is wrong. Then the three terms of $(*)$ are computed independently: the ELBO by Monte Carlo
with 2,000 samples of $z$, the KL between two Gaussians in closed form, $\log p_\theta(x)$ from the
exact marginal.
"""),
    code("""
with torch.no_grad():
    rotation, _ = torch.linalg.qr(torch.randn(16, 16, generator=torch.Generator().manual_seed(0)))
    ppca.weight.copy_(ppca.weight @ rotation)  # same p(x), correlated posterior
ppca.use_exact_posterior()
with torch.no_grad():
    exact_cov = ppca.posterior_parameters()[2]  # (K, K), the same for every x
    ppca.enc_scale_tril.copy_(torch.diag(exact_cov.diagonal().sqrt()))  # mean-field q
    torch.manual_seed(0)
    qz = ppca.encode(x)
    z = qz.sample((2000,))
    samples = ppca.decode(z).log_prob(x) + ppca.prior().log_prob(z) - qz.log_prob(z)  # (S, B)
    elbo_mc, elbo_se = samples.mean(0), samples.std(0) / 2000**0.5
    gap = D.kl_divergence(qz, ppca.posterior(x))
    log_px = ppca.marginal().log_prob(x)
for n in range(5):
    print(f"test image {n}: ELBO {elbo_mc[n]:9.2f} ± {elbo_se[n]:.2f}  +  KL(q||p(z|x)) {gap[n]:6.2f}"
          f"  =  {elbo_mc[n] + gap[n]:9.2f}   vs   log p(x) {log_px[n]:9.2f}")
assert ((elbo_mc + gap - log_px).abs() < 4 * elbo_se).all(), "(*) must hold within Monte Carlo error"
assert (gap > 0).all()
"""),
    md(r"""
Now let $q$ be the true posterior. The gap closes, and something stronger happens: the integrand
$\log p_\theta(x, z) - \log q_\phi(z \mid x) = \log p_\theta(x)$ no longer depends on $z$, so every single
sample of the ELBO equals $\log p_\theta(x)$ and the Monte Carlo estimate has zero variance.
"""),
    code("""
ppca.use_exact_posterior()
with torch.no_grad():
    qz = ppca.encode(x)
    z = qz.sample((2000,))
    samples = ppca.decode(z).log_prob(x) + ppca.prior().log_prob(z) - qz.log_prob(z)
print("largest |ELBO sample - log p(x)| over 2,000 samples x 5 images:", f"{(samples - log_px).abs().max():.2e} nats")
assert (samples - log_px).abs().max() < 1e-2, "every sample of the ELBO is log p(x) (float32 rounding aside)"
assert D.kl_divergence(qz, ppca.posterior(x)).abs().max() < 1e-3
"""),
    md(r"""
### The same identity for a real VAE

For the 2-D VAE of the previous chapter, $\log p_\theta(x)$ and $p_\theta(z \mid x)$ are known on a
grid. The gap $D_{\mathrm{KL}}(q_\phi \,\|\, p_\theta(z \mid x))$ is computed by quadrature over a fine
grid around $q_\phi$ (no sampling), the ELBO by Monte Carlo:
"""),
    code("""
vae2d = pretrained.load("mnist_vae_2d").model
x20 = x_test[:20]
torch.manual_seed(0)
with torch.no_grad():
    terms = elbo(vae2d, x20, num_samples=2000)
    gap2d = posterior_gap_on_grid(vae2d, x20)
    log_px2d = log_marginal_grid(vae2d, x20)
print(f"2-D VAE, first 20 test images (fixed binarization): ELBO {terms.elbo.mean():.2f} (2,000 samples)"
      f" + KL(q||p(z|x)) {gap2d.mean():.2f} = {(terms.elbo + gap2d).mean():.2f};"
      f" log p(x) on the grid {log_px2d.mean():.2f} nats")
assert ((terms.elbo + gap2d - log_px2d).abs() < 0.5).all()
assert (gap2d > 0).all(), "a diagonal Gaussian q is never exactly the posterior here"
"""),
    md(r"""
The encoder loses a few nats per image to the gap: its Gaussian is narrower than the true posterior
(the previous chapter's slider shows both). A richer $q$ (full covariance, flows) or a tighter bound
(importance weighting) recovers part of it; later chapters do both.

## The regularizer: the Gaussian KL

With $q_\phi(z \mid x) = \mathcal N(\mu, \operatorname{diag}(\sigma^2))$ and $p(z) = \mathcal N(0, I)$ the
regularizer has a closed form, one term per latent dimension:

$$
D_{\mathrm{KL}}\big(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, 1)\big)
 = \frac{\mu^2 + \sigma^2 - 1}{2} - \log \sigma ,
$$

non-negative and zero only for $\mu = 0$, $\sigma = 1$. Where torch has no closed form for a pair of
distributions, the package falls back to the Monte Carlo estimate
$\frac1S \sum_s \log q(z_s) - \log p(z_s)$. Both against each other, for $\mu = 1$, $\sigma = 0.5$:
"""),
    code("""
loc, scale = torch.tensor(1.0), torch.tensor(0.5)
closed = gaussian_kl(loc, scale).item()
torch.manual_seed(0)
sizes = [10, 100, 1000, 10000, 100000]
estimates = [monte_carlo_kl(D.Normal(loc, scale), D.Normal(0.0, 1.0), S) for S in sizes]
plots.monte_carlo_convergence(sizes, [m.item() for m, _ in estimates], [s.item() for _, s in estimates], closed,
                              "KL(N(1, 0.5^2) || N(0, 1)): Monte Carlo against the closed form");
"""),
    code("""
print(f"closed form {closed:.4f} nats; torch.distributions {D.kl_divergence(D.Normal(loc, scale), D.Normal(0., 1.)).item():.4f}")
for S, (m, s) in zip(sizes, estimates):
    print(f"Monte Carlo, S = {S:>6}: {m.item():.4f} ± {s.item():.4f}")
assert all(abs(m.item() - closed) < 4 * s.item() for m, s in estimates), "MC within 4 standard errors"
assert abs(closed - D.kl_divergence(D.Normal(loc, scale), D.Normal(0.0, 1.0)).item()) < 1e-6
"""),
    md(r"""
### The notes' alternative: $\mu^2 + (\sigma - 1)^2$

The notes suggest penalizing the squared distance between the parameters of $q_\phi(z \mid x)$ and of
$p(z)$ instead. It is also zero exactly when $q = p$, but two things change. The objective is no
longer a bound on $\log p_\theta(x)$; and a collapsing scale is barely punished: as $\sigma \to 0$ the
penalty tends to 1 while the KL's $-\log \sigma$ grows without limit. Two models with the same networks
(784-200-16, 15 epochs, dynamic binarization) were trained, one with each regularizer; both are scored
on the true ELBO:
"""),
    code("""
with_kl = pretrained.load("mnist_vae_beta_1")
with_l2 = pretrained.load("elbo_l2_vae")
x1000 = BinarizedMNIST.load("test", "dynamic", seed=0, limit=1000)
rows = {}
torch.manual_seed(0)
for name, ckpt in (("KL (the ELBO)", with_kl), ("mu^2 + (sigma-1)^2", with_l2)):
    model = ckpt.model
    metrics = evaluate(model, x1000, iw_samples=100)
    qz = model.encode(x_test[:1000])
    rows[name] = dict(neg_elbo=metrics["neg_elbo"], iw_nll=metrics["iw_nll"], kl=ckpt.history[-1]["test_kl"],
                      scale=qz.stddev.median().item(), active=active_units(model, x_test)[0])
    print(f"{name:>20}: -ELBO {rows[name]['neg_elbo']:6.2f}  IW NLL (S=100) {rows[name]['iw_nll']:6.2f}  "
          f"KL {rows[name]['kl']:5.1f}  median sigma {rows[name]['scale']:.3f}  active units {rows[name]['active']}/16")
print("(first 1,000 MNIST test images, fixed binarization; KL over all 10,000)")
"""),
    code("""
kl_row, l2_row = rows["KL (the ELBO)"], rows["mu^2 + (sigma-1)^2"]
assert l2_row["scale"] < kl_row["scale"], "the L2 penalty lets the posterior scales shrink"
assert l2_row["kl"] > kl_row["kl"], "... so the true KL (the rate) grows"
assert kl_row["neg_elbo"] < l2_row["neg_elbo"], "the model trained on the ELBO has the better ELBO"
"""),
    md(r"""
Prior samples show the price: with shrunken posteriors the codes of the training images occupy a
thin region of latent space, and decoding $z \sim \mathcal N(0, I)$ lands between them more often.
"""),
    code("""
fig, axes = plots.plt.subplots(1, 2, figsize=(10, 2.6))
torch.manual_seed(0)
plots.show_images(with_kl.model.sample(30), 10, "trained with the KL: samples from p(z)", axes[0])
torch.manual_seed(0)
plots.show_images(with_l2.model.sample(30), 10, "trained with mu^2 + (sigma-1)^2: samples from p(z)", axes[1]);
"""),
    md(r"""
## The KL weight $\beta$: rate against distortion

Weighting the regularizer, $\mathbb E_q[\log p_\theta(x \mid z)] - \beta\, D_{\mathrm{KL}}(q \,\|\, p(z))$
(Higgins et al. 2017), trades the **rate** (the KL: nats of information about $x$ kept in $z$) against
the **distortion** $-\mathbb E_q[\log p_\theta(x \mid z)]$. For a fixed decoder the best $q$ has a
closed form: maximizing over all distributions gives
$q_\beta(z \mid x) \propto p(z)\, p_\theta(x \mid z)^{1/\beta}$, which for the linear-Gaussian model is
Gaussian with precision $I + W^\top W / (\beta \sigma^2)$. With $\beta = 1$ it is the true posterior;
as $\beta$ grows it shrinks back onto the prior (rate 0); as $\beta \to 0$ it collapses onto the
maximum-likelihood point (distortion minimal, rate unbounded). Below, a PPCA with $K = 2$ on MNIST grey
values; the ellipses are $q_\beta(z \mid x)$ for four test images:
"""),
    code("""
ppca2 = LinearGaussian.fit(grey_train, latent_dim=2)
BETAS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
x4, x_rd = grey_test[:4], grey_test[:1000]

def rate_distortion(beta):
    q = ppca2.beta_posterior(x_rd, beta)
    return beta, D.kl_divergence(q, ppca2.prior()).mean().item(), -ppca2.expected_log_likelihood(x_rd, q).mean().item()

curve = [rate_distortion(b) for b in BETAS]
explore(lambda beta: plots.beta_posteriors(ppca2, x4, beta, curve), beta=BETAS, initial={"beta": 1},
        title="KL weight beta: the beta-optimal q(z|x) and the rate-distortion curve (PPCA, K = 2)", dpi=70)
"""),
    code("""
_, rates, distortions = zip(*curve)
for beta, rate, distortion in curve:
    print(f"beta = {beta:>5}: rate {rate:7.3f} nats, distortion {distortion:9.2f} nats (grey-value density)")
assert all(b < a for a, b in zip(rates, rates[1:])), "a larger beta lowers the rate"
assert all(b > a for a, b in zip(distortions, distortions[1:])), "... and raises the distortion"
b1 = BETAS.index(1)
exact = ppca2.marginal().log_prob(x_rd).mean().item()
print(f"beta = 1: -distortion - rate = {-distortions[b1] - rates[b1]:.3f}; exact log p(x) = {exact:.3f}")
assert abs(-distortions[b1] - rates[b1] - exact) < 1e-2, "at beta = 1 the ELBO is log p(x)"
"""),
    md(r"""
At $\beta = 1$ the optimal $q$ is the posterior and the ELBO, $-\text{distortion} - \text{rate}$, equals
$\log p_\theta(x)$ exactly, as $(*)$ says. The chapter *Training a VAE on MNIST* shows the same
trade-off for VAEs trained at several $\beta$.
"""),
]

if __name__ == "__main__":
    print(write("elbo", cells))
