"""Writes book/latent_variables.ipynb (notes 1.1, 1.2 and Example 1)."""
from common import INSTALL, code, md, write

cells = [
    md(r"""
# Latent-variable models

We are given data points $x_1, \dots, x_n$, samples of a random variable $x$ with an unknown
distribution $p^*(x)$ over a known space (here: $28 \times 28$ binary images), and we want to
sample new points that look like them. A **generative model** is a family of distributions
$p_\theta(x)$; training picks the $\theta$ under which the data are most likely.

Sampling directly from a complicated $p_\theta(x)$ is hard, so we start from a **latent** (unobserved)
variable $z$ that is easy to sample and transform it:

$$
p_\theta(x, z) = p_\theta(x \mid z)\, p(z), \qquad
p_\theta(x) = \int p_\theta(x \mid z)\, p(z)\, dz .
$$

The prior $p(z)$ is simple and has no parameters; the **decoder** $p_\theta(x \mid z)$ is a neural
network that outputs the parameters of an easy distribution over $x$. This chapter samples from such
a model, shows why the integral $p_\theta(x)$ is the hard part, and computes it exactly where it can be
computed: for a model with a 2-D latent space, on a grid.
"""),
    code(INSTALL),
    code("""
import torch
from vaebook import plots, pretrained
from vaebook.data import BinarizedMNIST
from vaebook.marginal import log_marginal_grid, naive_log_marginal
from vaebook.objectives import elbo, iw_bound
from vaebook.widgets import explore

test = BinarizedMNIST.load("test", "dynamic", seed=0)
x_test = test.fixed()
print(test.describe(fixed=True))
"""),
    md(r"""
## Example 1: a Bernoulli decoder

The notes' Example 1: $x \in \{0, 1\}^D$ with $D = 784$,

$$
z \sim \mathcal N(0, I), \qquad p = \mathrm{DecoderNeuralNet}_\theta(z) \in [0, 1]^D, \qquad
x_i \sim \mathrm{Bernoulli}(p_i),
$$

$$
\log p_\theta(x \mid z) = \sum_{i=1}^{D} \log \mathrm{Bernoulli}(x_i; p_i)
  = \sum_{i=1}^{D} x_i \log p_i + (1 - x_i) \log (1 - p_i).
$$

We use a decoder trained on MNIST (shipped with the package; the next chapters show how it was
trained) whose latent space has only **two** dimensions. Ancestral sampling is three lines: draw
$z$ from the prior, decode it to pixel probabilities $p$, draw each pixel.
"""),
    code("""
vae2d = pretrained.load("mnist_vae_2d").model  # 784-256-256-2, trained on binarized MNIST
torch.manual_seed(0)
z = vae2d.prior().sample((12,))          # z ~ N(0, I), shape (12, 2)
px_given_z = vae2d.decode(z)             # a torch.distributions object: 784 Bernoulli pixels
x_new = px_given_z.sample()              # x_i ~ Bernoulli(p_i)
plots.show_images(torch.cat([px_given_z.mean, x_new]), 12, "pixel probabilities p (top) and sampled x (bottom)");
"""),
    md(r"""
The decoder returns a `torch.distributions` object, so $\log p_\theta(x \mid z)$ is its `log_prob`.
Check it against the notes' formula written out by hand:
"""),
    code("""
p = px_given_z.mean
by_hand = (x_new * p.log() + (1 - x_new) * (1 - p).log()).sum(-1)
print("log p(x|z) of the 12 samples:", [round(v, 1) for v in px_given_z.log_prob(x_new).tolist()])
assert torch.allclose(px_given_z.log_prob(x_new), by_hand, atol=1e-2)
assert px_given_z.event_shape == (784,) and px_given_z.batch_shape == (12,)
"""),
    md(r"""
Every point of the 2-D latent space decodes to an image; decoding a grid of prior quantiles shows
the whole family of images the model can produce:
"""),
    code("plots.manifold(vae2d, steps=12);"),
    md(r"""
## Why $p_\theta(x)$ is hard

To train by maximum likelihood we need $\log p_\theta(x) = \log \int p_\theta(x \mid z)\, p(z)\, dz$
for every training image. With a neural-network decoder the integral has no closed form. The obvious
Monte Carlo estimate samples the prior,

$$
p_\theta(x) = \mathbb E_{p(z)}[p_\theta(x \mid z)] \approx \frac1S \sum_{s=1}^S p_\theta(x \mid z_s),
\qquad z_s \sim p(z),
$$

which is unbiased for $p_\theta(x)$, but almost every $z_s$ decodes to a different digit, so
$p_\theta(x \mid z_s)$ is astronomically small for nearly all of them and the sum is dominated by the
rare sample that lands where $p(z \mid x)$ lives. In a 2-D latent space that region is still a
noticeable fraction of the prior; in 50 dimensions it is not.

**In two dimensions the integral can simply be computed**: on a $201 \times 201$ grid of cells over
$[-4, 4]^2$,
$\log p_\theta(x) \approx \log \sum_j p_\theta(x \mid z_j)\, p(z_j)\, \Delta A$. The prior mass
outside the square is $1.3 \times 10^{-4}$, and the decoder is smooth at the scale of a cell, so the
sum converges as the grid gets finer:
"""),
    code("""
x = x_test[:1000]
exact = {steps: log_marginal_grid(vae2d, x, limit=4.0, steps=steps).mean().item() for steps in (51, 101, 201)}
for steps, value in exact.items():
    print(f"log p(x) on a {steps}x{steps} grid: {value:9.3f} nats (mean over the first 1,000 test images, fixed binarization)")
log_px = log_marginal_grid(vae2d, x, limit=4.0, steps=201)
assert abs(exact[201] - exact[101]) < 0.05, "the grid integral has converged"
"""),
    md(r"""
That number is the 2-D model's test log-likelihood, exact up to quadrature error. (It is far worse
than the 50-dimensional model of the chapter *Training a VAE on MNIST*, about $-86$ nats there: two
numbers cannot describe every detail of a digit.) Now the estimators against it, on the same 1,000
images: the naive prior-sampling estimate, and the importance-weighted bound of Burda et al. (2016)
that samples from the encoder $q_\phi(z \mid x)$ instead (the next chapter derives it):
"""),
    code("""
torch.manual_seed(0)
sizes = [1, 10, 100, 1000, 10000]
with torch.no_grad():
    naive = [naive_log_marginal(vae2d, x, S).mean().item() for S in sizes]
    iw = [iw_bound(vae2d, x, S).mean().item() for S in sizes[:4]]
plots.bound_convergence(sizes, {"naive: z ~ p(z)": naive, "importance-weighted: z ~ q(z|x)": iw + [float("nan")]},
                        exact=exact[201], title="2-D VAE, 1,000 MNIST test images (fixed binarization)");
"""),
    code("""
for S, value in zip(sizes, naive):
    print(f"naive estimate, S = {S:>5}: {value:9.2f} nats")
for S, value in zip(sizes, iw):
    print(f"IW bound,       S = {S:>5}: {value:9.2f} nats")
assert all(v <= exact[201] + 0.05 for v in naive + iw), "both are (stochastic) lower bounds of log p(x) on average"
assert naive[0] < iw[0] - 50, "one prior sample explains x far worse than one posterior sample"
assert all(b >= a - 0.05 for a, b in zip(iw, iw[1:])), "the IW bound grows with S"
"""),
    md(r"""
With a single sample, drawing $z$ from the prior is worse than drawing it from the encoder by over a
hundred nats; the naive estimate needs thousands of samples to come within a few nats, even in two
dimensions. (In two dimensions brute force does get there in the end: at $S = 10{,}000$ the naive
estimate is closer than the IW bound at $S = 1000$. The encoder's $q_\phi(z \mid x)$ is narrower than
the true posterior, shown below, and importance sampling from an over-confident proposal converges
slowly.) In the 50-dimensional model, a hundred thousand prior samples still fall short of
what a thousand samples from the encoder reach:
"""),
    code("""
vae = pretrained.load("mnist_vae").model  # 784-512-512-50
x5 = x_test[:5]
torch.manual_seed(0)
with torch.no_grad():
    naive50 = {S: naive_log_marginal(vae, x5, S).mean().item() for S in (10, 1000, 100000)}
    iw50 = iw_bound(vae, x5, 1000).mean().item()
for S, value in naive50.items():
    print(f"50-D model, naive estimate, S = {S:>6}: {value:8.1f} nats (first 5 test images)")
print(f"50-D model, IW bound,       S =   1000: {iw50:8.1f} nats")
assert naive50[10] < iw50 - 50 and naive50[100000] < iw50, "prior samples explain x far worse than q's samples"
"""),
    md(r"""
## The posterior $p_\theta(z \mid x)$

Where the integral is known, so is the posterior, by Bayes' rule:
$p_\theta(z \mid x) = p_\theta(x \mid z)\, p(z) / p_\theta(x)$. Below it is drawn on the grid (blue)
for a few test digits. Move the slider: each digit's posterior sits in the region of the manifold
above where that digit is drawn. The red ellipse is the encoder's Gaussian guess $q_\phi(z \mid x)$,
the subject of the next chapter; it is narrower than the true posterior, which costs the ELBO a few
nats.
"""),
    code("""
digits = list(range(8))
explore(lambda image: plots.true_posterior(vae2d, x_test[image], title=f"test image {image}: p(z|x) and q(z|x)"),
        image=digits, title="the true posterior of the 2-D VAE, one test image at a time", dpi=70)
"""),
    code("""
log10_px = log_px[:8] / torch.log(torch.tensor(10.0))  # p(x) itself underflows: print its exponent
print("p(x) of the first 8 test images: " + ", ".join(f"10^{v:.0f}" for v in log10_px.tolist()))
assert (log_px < 0).all() and torch.isfinite(log_px).all()
"""),
    md(r"""
Two facts to carry into the next chapters:

- $\log p_\theta(x)$ is what we want to maximize, and it is an integral we cannot compute for a
  realistic latent space; sampling the prior to estimate it fails badly.
- Sampling $z$ where the posterior lives, from an encoder $q_\phi(z \mid x)$, works far better. The
  next chapter turns that into a trainable objective, the ELBO, and uses this 2-D model's exact
  $\log p_\theta(x)$ (`vaebook.marginal.log_marginal_grid`) to check it.
"""),
]

if __name__ == "__main__":
    print(write("latent_variables", cells))
