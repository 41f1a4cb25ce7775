"""Writes book/discrete_latents.ipynb (notes 2) and book/straight_through.ipynb (notes 2.1):
``python tools/chapters/make_discrete.py``.

The chapters are committed without outputs; edit this script and rerun it rather
than editing the notebooks by hand.
"""
from common import INSTALL, code, md, write

# --- chapter 1: discrete latents and why the naive approach fails --------------------------------

DISCRETE = [
    md(r"""
# Discrete latents and why the naive approach fails

So far $z$ was a vector of real numbers. From the point of view of information theory that is a strange
choice for a *compressed* description of $x$: a single real number can store as much as a whole vector,
since $|\mathbb R^n| = |\mathbb R|$ (interleave the digits). If $z$ is to be a code of limited size, a
**finite latent space** $\mathcal Z$ says so directly: $K$ bits, or $K$ symbols out of $C$ classes.

This chapter (section 2 of the notes, before 2.1) sets up discrete latent spaces and their posteriors
$q_\phi(z \mid x)$, samples from them with the obvious reparameterization, a step function of uniform
noise, and shows, first with autograd and then by training a VAE live, why that obvious approach fails:
**the encoder receives no gradient from the reconstruction term**, so it only minimizes the KL term, and
$z$ ends up carrying no information about $x$. The next chapter starts the repairs (straight-through).
"""),
    code(INSTALL),
    code("""
import math
import torch
from torch import distributions as D
from vaebook import discrete
from vaebook.data import BinarizedMNIST
from vaebook.discrete_vae import BinaryVAEConfig, TracedObjective, mutual_information
from vaebook.plots import discrete as dplots
from vaebook.training import TrainConfig, TrainState, fit

torch.manual_seed(0)
print("Bernoulli estimators:  ", sorted(discrete.ESTIMATORS))
print("categorical estimators:", sorted(discrete.CATEGORICAL_ESTIMATORS))
"""),
    md(r"""
## Discrete latent spaces and $q_\phi(z \mid x)$

Two latent spaces are used throughout this part of the book.

**Binary vectors**, $\mathcal Z = \{0, 1\}^K$. The encoder outputs $K$ logits $\ell_k(x)$ and
$p_k = \sigma(\ell_k) = q_\phi(z_k = 1 \mid x)$; the latents are independent given $x$:

$$
q_\phi(z \mid x) = \prod_{k=1}^K p_k^{z_k} (1 - p_k)^{1 - z_k},
\qquad p(z) = \prod_{k=1}^K \mathrm{Bernoulli}(z_k; \tfrac12) = 2^{-K}.
$$

**One-hot vectors**, $\mathcal Z = \{e_1, \dots, e_C\}^K$: $K$ symbols with $C$ classes each, every symbol
a one-hot vector in $\mathbb R^C$. The encoder outputs $K \times C$ logits, $p_k = \operatorname{softmax}(\ell_k)$, and

$$
q_\phi(z \mid x) = \prod_{k=1}^K \prod_{c=1}^C p_{kc}^{z_{kc}}, \qquad p(z) = C^{-K}.
$$

Against these uniform priors the KL term is a sum of entropies, in closed form:
$D_{\mathrm{KL}}(q_\phi(z \mid x) \,\|\, p(z)) = \sum_k \big(\log 2 - H(p_k)\big)$, respectively
$\sum_k \big(\log C - H(p_k)\big)$. It is zero exactly when every $p_k$ is uniform. With 200 encoder outputs
both are large spaces: $2^{200}$ binary codes, or $10^{20}$ codes of 20 symbols with 10 classes
(Jang et al. 2016's setting). In `vaebook` these posteriors are `torch.distributions` objects:
"""),
    code("""
logits = torch.tensor([-2.0, 0.0, 1.0, 3.0])  # K = 4 Bernoulli latents
qz, pz = discrete.bernoulli_latents(logits), discrete.bernoulli_latents(torch.zeros(4))
p = torch.sigmoid(logits)
kl_by_hand = (math.log(2) + p * p.log() + (1 - p) * (1 - p).log()).sum()  # sum_k log 2 - H(p_k)
print("Bernoulli:   z ~ q:", qz.sample().tolist(), f" KL(q || p) = {D.kl_divergence(qz, pz):.4f}, "
      f"by hand {kl_by_hand:.4f} nats")
cat_logits = torch.tensor([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]])  # K = 2 symbols, C = 3 classes
qc, pc = discrete.categorical_latents(cat_logits), discrete.categorical_latents(torch.zeros(2, 3))
pk = torch.softmax(cat_logits, -1)
kl_cat = (math.log(3) + (pk * pk.log()).sum(-1)).sum()  # sum_k log C - H(p_k); the uniform symbol adds 0
print("categorical: z ~ q:", qc.sample().int().tolist(), f" KL(q || p) = {D.kl_divergence(qc, pc):.4f}, "
      f"by hand {kl_cat:.4f} nats")
assert torch.isclose(D.kl_divergence(qz, pz), kl_by_hand) and torch.isclose(D.kl_divergence(qc, pc), kl_cat)
"""),
    md(r"""
## The naive sampler: a step function of uniform noise

The reparameterization trick of the previous chapters writes the sample as a function of the parameters
and of independent noise, $z = g(\phi, x, u)$. For discrete latents the notes take the inverse CDF. A
Bernoulli latent with $p = q_\phi(z = 1 \mid x)$ is

$$
z = \mathbf{1}[u \ge 1 - p], \qquad u \sim U(0, 1), \qquad P(z = 1) = P(u \ge 1 - p) = p,
$$

and a categorical one, with $P_j = p_1 + \dots + p_j$ the cumulative probabilities ($P_0 = 0$, $P_C = 1$), is

$$
g(\phi, x, u) = e_j \quad\text{if and only if}\quad u \in [P_{j-1}, P_j), \qquad u \sim U(0, 1),
$$

so that $P(z = e_j) = P_j - P_{j-1} = p_j$. The package writes both with the unit step
$\mathbf{1}[t \ge 0] = (1 + \operatorname{sign} t)/2$ so that autograd can see through them:
`discrete.naive_bernoulli` and `discrete.naive_categorical`, the estimator `"naive"`. Each uniform draw
picks the segment of $[0, 1]$ it lands in:
"""),
    code("""
p5 = torch.tensor([0.1, 0.25, 0.05, 0.4, 0.2])
dplots.inverse_cdf_sampler(p5, torch.rand(40));
"""),
    md(r"""
The samples have exactly the distribution $q$: with $N = 100{,}000$ draws, each frequency should lie
within a few standard errors $\sqrt{p(1-p)/N}$ of its probability (the error bars are $\pm 2$ standard
errors; the assert allows 4).
"""),
    code("""
N = 100_000
p_bern = torch.tensor([0.02, 0.1, 0.3, 0.5, 0.8, 0.97])
z_bern = discrete.get_estimator("naive")(torch.logit(p_bern).expand(N, -1), {})  # (N, 6) in {0, 1}
z_cat = discrete.get_estimator("naive", categorical=True)(p5.log().expand(N, -1), {})  # (N, 5) one-hot
freq_bern, freq_cat = z_bern.mean(0), z_cat.mean(0)
for p, freq in ((p_bern, freq_bern), (p5, freq_cat)):
    z_scores = (freq - p) / (p * (1 - p) / N).sqrt()
    print("p:", p.tolist(), "\\n  frequency:", freq.tolist(), "\\n  (frequency - p) / s.e.:", z_scores.numpy().round(2))
    assert z_scores.abs().max() < 4
assert set(z_bern.unique().tolist()) == {0.0, 1.0} and torch.all(z_cat.sum(-1) == 1)
"""),
    code("""
dplots.frequencies_vs_probabilities({"Bernoulli: z = 1[u >= 1 - p], six latents": (p_bern, freq_bern),
                                     "categorical (inverse CDF), C = 5": (p5, freq_cat)}, N);
"""),
    md(r"""
## The gradient through the step is zero

For a fixed $u$, $g(\phi, x, u)$ is piecewise constant in $\phi$: it changes value only where a boundary
$P_j(\phi)$ crosses $u$. If the $p_j$ are differentiable in $\phi$ (through a softmax, say), they are
continuous, and for almost every $u$ no boundary sits exactly at $u$, so

$$
\nabla_\phi\, g(\phi, x, u) = 0 \quad \text{for almost every } u .
$$

The reparameterization estimate of the gradient of the reconstruction term is therefore identically zero,
by the chain rule:

$$
\nabla_\phi\, \mathbb E_{z \sim q_\phi(\cdot \mid x)}\big[\log p_\theta(x \mid z)\big]
\;\approx\; \nabla_\phi \log p_\theta\big(x \mid g(\phi, x, u)\big)
= \frac{1}{p_\theta(x \mid z)} \frac{\partial p_\theta(x \mid z)}{\partial z}\, \nabla_\phi z = 0 .
$$

Writing the ELBO as
$\mathcal L_{\theta,\phi}(x) = \mathbb E_{z \sim q_\phi(\cdot \mid x)}[\log p_\theta(x \mid z)] - D_{\mathrm{KL}}(q_\phi(z \mid x) \,\|\, p_\theta(z))$,
the encoder's gradient estimate is that of the KL term alone:

$$
\widehat{\nabla_\phi \mathcal L_{\theta,\phi}}(x) = -\nabla_\phi D_{\mathrm{KL}}\big(q_\phi(z \mid x) \,\|\, p_\theta(z)\big).
$$

Note what is wrong and what is not. The *true* gradient of the reconstruction term,
$\sum_{z \in \mathcal Z} \nabla_\phi q_\phi(z \mid x) \log p_\theta(x \mid z)$, is not zero; the estimator is. Moving
$\nabla_\phi$ inside the expectation over $u$ is allowed for $g$ differentiable in $\phi$ (the previous
chapters), not for a step: the expectation is a smooth function of $\phi$ although every sample path is
flat. A small example with $K = 3$ Bernoulli latents and a nonlinear $f$ shows both the exact gradient
(by enumerating the $2^3$ states, `discrete.exact_gradient`) and 1,000 naive estimates:
"""),
    code("""
f = lambda z: ((z * torch.tensor([1.0, 2.0, -1.5])).sum(-1) - 0.5) ** 2  # f(z): (S, 3) -> (S,)
logits3 = torch.tensor([-1.0, 0.5, 1.5])
exact = discrete.exact_gradient(logits3, f)
naive = discrete.gradient_samples("naive", logits3, f, {}, num_samples=1000)
print("exact d/dlogits E_q[f(z)] (enumeration):", exact.numpy().round(4))
print("naive estimates: all zero?", bool(torch.all(naive == 0)), "| their mean:", naive.mean(0).numpy())
g = lambda z: ((z * torch.tensor([0.0, 1.0, 3.0])).sum((-2, -1)) - 2.0) ** 2  # K = 2 symbols, C = 3
cat_naive = discrete.gradient_samples("naive", cat_logits, g, {}, 1000, categorical=True)
print("categorical (K = 2, C = 3): exact", discrete.exact_gradient(cat_logits, g, True).flatten().numpy().round(3),
      "| naive all zero?", bool(torch.all(cat_naive == 0)))
assert exact.norm() > 0.1 and torch.all(naive == 0) and torch.all(cat_naive == 0)
"""),
    md(r"""
### The same, inside a VAE

Now a binary VAE of the package, `BinaryVAEConfig(estimator="naive")`: 200 Bernoulli latents, a
784-256-200 ReLU encoder and its mirror as the Bernoulli decoder. We compute the pieces of its loss
on 100 MNIST test images by hand and ask autograd for the gradients of the reconstruction term
$\mathbb E_q[\log p_\theta(x \mid z)]$ (one sample $z$ per image) with respect to the encoder's and the
decoder's parameters:
"""),
    code("""
test = BinarizedMNIST.load("test", "dynamic", seed=0, limit=1000)
x_test, y_test = test.fixed(), test.labels
torch.manual_seed(0)
model = BinaryVAEConfig(hidden=(256,), latent_dim=200, estimator="naive").build()
x = x_test[:100]
logits = model.encoder_logits(x)  # (100, 200)
z = model.estimator(logits, {})  # the naive sampler: exact Bernoulli samples
log_px = model.decode(z).log_prob(x).mean()  # E_q[log p(x|z)], one z per image, batch mean
kl = D.kl_divergence(model.latents(logits), model.prior()).mean()
enc, dec = list(model.encoder.parameters()), list(model.decoder.parameters())
grad_enc = torch.autograd.grad(log_px, enc, retain_graph=True)
grad_dec = torch.autograd.grad(log_px, dec, retain_graph=True)
print("data:", test.describe(fixed=True))
print(f"d E[log p(x|z)] / d encoder: {sum(g.count_nonzero() for g in grad_enc)} nonzero entries of "
      f"{sum(g.numel() for g in grad_enc):,}, largest |entry| {max(g.abs().max() for g in grad_enc)}")
print(f"d E[log p(x|z)] / d decoder: {sum(g.count_nonzero() for g in grad_dec):,} nonzero entries of "
      f"{sum(g.numel() for g in grad_dec):,}, norm {torch.cat([g.flatten() for g in grad_dec]).norm():.3f}")
assert all(torch.all(g == 0) for g in grad_enc) and sum(g.count_nonzero() for g in grad_dec) > 0
"""),
    md(r"""
Exactly zero, not small. And the gradient of the package's training loss,
$-\big(\log p_\theta(x \mid z) - D_{\mathrm{KL}}\big)$ averaged over the batch (`model.objective`, KL weight 1),
with respect to the encoder is the gradient of the KL term alone, to the last bit:
"""),
    code("""
loss = model.objective(x, TrainState(TrainConfig()))["loss"]  # the training loss, its own samples of z
grad_loss = torch.autograd.grad(loss, enc)
grad_kl = torch.autograd.grad(kl, enc)
for name, gl, gk in zip([n for n, _ in model.encoder.named_parameters()], grad_loss, grad_kl):
    print(f"encoder {name:9s}: |grad loss| = {gl.norm():.3e}, |grad KL| = {gk.norm():.3e}, "
          f"max difference {(gl - gk).abs().max():.1e}")
assert all(torch.equal(gl, gk) for gl, gk in zip(grad_loss, grad_kl))
"""),
    md(r"""
## Training with the naive sampler: the posterior collapses to the prior

The encoder's only signal is "make $q_\phi(z \mid x)$ closer to $p(z)$". The KL is minimized, at zero, by
$q_\phi(z \mid x) = p(z)$ for every $x$, where *no information about $x$ is conveyed in $z$*. The decoder
still learns, but from codes that have nothing to do with its input, so the best it can do is to output
the average image.

We train two identical models live, on the first 10,000 MNIST training images (dynamic binarization),
5 epochs of batches of 100 (500 steps), Adam with learning rate $10^{-3}$, KL weight 1 from the start:
one with the naive sampler and one with the **straight-through** estimator of the next chapter, which
forwards the same exact samples but lets a gradient through. `TracedObjective` records the batch
averages at every step.
"""),
    code("""
train = BinarizedMNIST.load("train", "dynamic", seed=0, limit=10_000)
models, traces = {}, {}
for name in ("naive", "straight-through"):
    torch.manual_seed(0)
    models[name], traces[name] = BinaryVAEConfig(hidden=(256,), latent_dim=200, estimator=name).build(), TracedObjective()
    history = fit(models[name], TrainConfig(epochs=5, batch_size=100, lr=1e-3), train, test=False, objective=traces[name])
    print(f"{name:16s}: {sum(r['seconds'] for r in history):4.1f} s; last epoch (training images): "
          f"-ELBO {history[-1]['train_neg_elbo']:.1f}, KL {history[-1]['train_kl']:.5f} nats per image")
"""),
    code("""
dplots.collapse_curves({name: t.trace for name, t in traces.items()}, "KL term and -ELBO per training batch, 200 Bernoulli latents");
"""),
    md(r"""
On the left, a logarithmic axis: the naive model's KL term falls from its value at initialization by
four orders of magnitude and keeps falling, while the straight-through model's KL *grows* as its
encoder learns to put information into $z$. On the right, the naive model's $-$ELBO flattens out where a
decoder that ignores $z$ ends up; the straight-through model keeps improving.

On the 1,000 test images (binarized once, seed 0) the encoder of the naive model puts every
$q_\phi(z_k = 1 \mid x)$ within a hair of $\tfrac12$:
"""),
    code("""
with torch.no_grad():
    probs = {name: torch.sigmoid(m.encoder_logits(x_test)) for name, m in models.items()}
    test_kl = {name: m.kl_per_dimension(x_test).sum(-1).mean().item() for name, m in models.items()}
for name, p in probs.items():
    print(f"{name:16s}: max |q(z_k=1|x) - 1/2| = {(p - 0.5).abs().max():.4f}, mean {(p - 0.5).abs().mean():.5f}; "
          f"E_x KL(q(z|x) || p(z)) = {test_kl[name]:.6f} nats")
dplots.probability_histograms({f"{name} (test KL {test_kl[name]:.2g} nats)": p for name, p in probs.items()});
"""),
    md(r"""
### How much does $z$ know about $x$?

Take $x$ uniform over the $N = 1{,}000$ test images and $z \sim q_\phi(z \mid x)$. Their mutual information is
$I(x; z) = \mathbb E_x\, D_{\mathrm{KL}}(q_\phi(z \mid x) \,\|\, q(z))$ with the aggregate posterior
$q(z) = \frac1N \sum_n q_\phi(z \mid x_n)$, and since
$\mathbb E_x \mathbb E_{q_\phi(z \mid x)}[\log q_\phi(z \mid x) - \log p(z)] = \mathbb E_x \mathbb E_{q_\phi(z \mid x)}[\log q_\phi(z \mid x) - \log q(z)] + \mathbb E_{q(z)}[\log q(z) - \log p(z)]$,

$$
\mathbb E_x\, D_{\mathrm{KL}}\big(q_\phi(z \mid x) \,\|\, p(z)\big) = I(x; z) + D_{\mathrm{KL}}\big(q(z) \,\|\, p(z)\big) \;\ge\; I(x; z) \;\ge\; 0
$$

(Hoffman & Johnson 2016). The average KL term bounds the information $z$ carries about $x$; a KL of
$\varepsilon$ nats leaves at most $\varepsilon$ nats. `mutual_information` estimates $I(x; z)$ from 10
samples of $z$ per image, with $q(z)$ the exact mixture over the 1,000 images (so $I \le \log N = 6.91$):
"""),
    code("""
torch.manual_seed(0)
with torch.no_grad():
    mi = {name: mutual_information(torch.logit(p.double()), num_samples=10) for name, p in probs.items()}
print(f"x uniform over the first 1,000 MNIST test images; z ~ q(z|x), 10 samples per image; log N = {math.log(1000):.2f}")
for name in models:
    print(f"{name:16s}: E_x KL(q(z|x) || p(z)) = {test_kl[name]:9.6f} nats >= I(x; z) = {mi[name]['mi']:9.6f} "
          f"± {mi[name]['mi_se']:.6f} nats")
"""),
    md(r"""
The checks. The naive model's KL must be near zero: we require less than 0.01 nats per image, i.e. $z$
carries less than 0.015 bits about a 784-pixel image. That threshold is twenty times below the KL of
the freshly initialized network (about 0.2 nats, the first point of the curve above) and a thousand times
below the straight-through model's KL after the same 500 steps, so it separates collapse from learning
with a wide margin on both sides. $I(x; z)$ must then be zero within its Monte Carlo error, and the
inequality must hold for both models.
"""),
    code("""
assert test_kl["naive"] < 0.01, "the naive model's posterior has collapsed to the prior"
assert test_kl["straight-through"] > 1.0, "the straight-through model's z carries information"
assert abs(mi["naive"]["mi"]) < 0.01 + 4 * mi["naive"]["mi_se"]
assert mi["straight-through"]["mi"] > 1.0
for name in models:
    assert test_kl[name] >= mi[name]["mi"] - 4 * mi[name]["mi_se"], "E_x KL >= I(x; z)"
print("checks passed")
"""),
    md(r"""
### The same blur for every input

Reconstructions decode an exact sample $z \sim q_\phi(z \mid x)$ of each test image. The naive model
returns the same blurred average digit whatever the input; the straight-through model, after the same
500 steps, already follows its inputs:
"""),
    code("""
xs = x_test[:12]
with torch.no_grad():
    recon = {name: m.decode(m.encode(xs).sample()).mean for name, m in models.items()}
spread = {name: r.std(0).mean().item() for name, r in recon.items()}  # pixel std across the 12 inputs
dplots.image_rows({"input x (test images)": xs,
                   **{f"{name}: E[x|z], z ~ q(z|x); spread across inputs {spread[name]:.3f}": r for name, r in recon.items()}});
"""),
    code("""
mean_image = train.fixed().mean(0)
gap = (recon["naive"] - mean_image).abs()
print(f"naive reconstructions vs the mean training image: mean |pixel difference| {gap.mean():.4f}, largest {gap.max():.3f}")
print(f"spread of the reconstructions across inputs (pixel std): naive {spread['naive']:.4f}, "
      f"straight-through {spread['straight-through']:.4f}")
assert spread["naive"] < spread["straight-through"] / 3 and gap.mean() < 0.02
"""),
    md(r"""
### Can the digit be read off $z$?

A last, more tangible test: a nearest-centroid classifier. The centroid of each digit is the average
code $z \sim q_\phi(z \mid x)$ of 5,000 training images of that digit; a test image is assigned the digit of
the centroid nearest to its code. With codes that know nothing about $x$ it can only guess: about
10 % (ten roughly balanced classes; the standard error of an accuracy on 1,000 images is about 1 %).
We also try the encoder's probabilities $\mathbb E_q[z] = p$ themselves as features.
"""),
    code("""
def nearest_centroid_accuracy(features_train, labels_train, features_test, labels_test):
    centroids = torch.stack([features_train[labels_train == c].mean(0) for c in range(10)])  # (10, K)
    return (torch.cdist(features_test, centroids).argmin(-1) == labels_test).float().mean().item()

torch.manual_seed(0)
x_train5k, y_train5k = train.fixed()[:5000], train.labels[:5000]
accuracy = {}
with torch.no_grad():
    for name, m in models.items():
        p_train, p_test = torch.sigmoid(m.encoder_logits(x_train5k)), probs[name]
        accuracy[name] = {"z ~ q(z|x)": nearest_centroid_accuracy(torch.bernoulli(p_train), y_train5k, torch.bernoulli(p_test), y_test),
                          "E_q[z]": nearest_centroid_accuracy(p_train, y_train5k, p_test, y_test)}
print("nearest-centroid accuracy on the first 1,000 MNIST test images (chance about 0.10 ± 0.01):")
for name, acc in accuracy.items():
    print(f"  {name:16s}: " + ", ".join(f"features {k}: {v:.3f}" for k, v in acc.items()))
"""),
    code("""
chance = 0.10 + 4 * (0.1 * 0.9 / 1000) ** 0.5  # chance plus four standard errors
assert accuracy["naive"]["z ~ q(z|x)"] < chance and accuracy["naive"]["E_q[z]"] < chance
assert min(accuracy["straight-through"].values()) > 0.4
print(f"naive: at chance (< {chance:.3f}); straight-through: well above it")
"""),
    md(r"""
Even $\mathbb E_q[z]$, a deterministic function of $x$, is useless here: the encoder has driven its
outputs so close to $\tfrac12$ that what is left of their dependence on $x$ no longer separates the digits.

## Why order matters: embedding $\mathcal Z$

The notes end section 2 with the general problem. A derivative of a function $f$ on a finite set
$\mathcal Z$ only makes sense if $\mathcal Z$ has some structure. If $\mathcal Z = \{1, \dots, M\}$, derivatives
are not defined either, but it makes sense to ask whether increasing or decreasing $z$ helps $f$. If
$\mathcal Z$ is a set of objects with no relation to one another (the notes' example is a set of nested
tuples, $0, (0, 0), (0, 0, 0), \dots$), there is nothing to differentiate, and gradient descent is not a suitable approach. Discrete VAEs trained
by gradient descent therefore **embed** $\mathcal Z$ in a continuous space and differentiate the decoder there:
as the corners $\{0, 1\}^K$ of the unit cube (binary vectors) or as the corners $e_1, \dots, e_C$ of the
probability simplex (one-hot vectors). That is why both VAEs above feed $z$ to an ordinary MLP.

The embedding is a modelling choice, not a neutral one. The decoder's values *between* the corners are
never used by the model, yet a surrogate gradient such as straight-through reads the decoder's slope
at the corners and so depends on how the decoder extends off them. The next chapter shows this
concretely, with two functions equal on every $z \in \{0, 1\}^K$ whose straight-through gradients differ.

The estimators of the following chapters all keep the forward pass discrete or close to it and repair
the backward pass:

| chapter | estimator | what it differentiates |
|---|---|---|
| The straight-through estimator | forward $z \sim q$, backward $\partial z / \partial \phi := \partial p / \partial \phi$ | a surrogate, biased |
| Gumbel-softmax | a relaxed $z$ in the simplex, temperature $\tau$ | a relaxed model |
| Smoothing transformations | a continuous $\zeta = f(\beta, p, u)$ | a smoothed model |
| Vector quantization | a learned codebook, straight-through in the encoder | a deterministic encoder |

The score-function estimator of the chapter on gradient estimation works here too, unchanged: it needs
$\nabla_\phi \log q_\phi(z \mid x)$, not $\nabla_z$, and is unbiased, but noisy (next chapter).
No shipped model uses the naive sampler: trained on its own it would always end as above.
"""),
]


# --- chapter 2: the straight-through estimator ---------------------------------------------------

STRAIGHT_THROUGH = [
    md(r"""
# The straight-through estimator

The naive sampler of the previous chapter draws exact discrete samples but has $\nabla_\phi z = 0$. The
**straight-through estimator** (Bengio et al. 2013; notes 2.1) keeps the exact samples in the forward pass
and simply *declares* a different derivative for the backward pass: it treats the sample as if it were
its own probability. For a Bernoulli latent with $p = q_\phi(z = 1 \mid x)$,

$$
z \sim \mathrm{Bernoulli}(p) \ \text{ in the forward pass}, \qquad
\frac{\partial z}{\partial \phi} := \frac{\partial p}{\partial \phi} \ \text{ in the backward pass},
$$

and for a one-hot latent $z \sim \mathrm{Categorical}(p)$, $p = \operatorname{softmax}(\ell)$, the same with the vector $p$
(the Jacobian $\partial z / \partial p$ is replaced by the identity). The gradient of an expectation is then
estimated by Monte Carlo with

$$
\nabla_\phi\, \mathbb E_{z \sim q_\phi(z \mid x)}[f(z)] \;\approx\;
\mathbb E_{z \sim q_\phi(z \mid x)}\!\left[\nabla_z f(z)\, \frac{\partial p}{\partial \phi}\right].
$$

The notes are blunt about it: there is no good mathematical justification for this, as depending on the
choice of $\mathcal Z$, differentiating $f$ with respect to $z$ may be nonsensical; it may work in practice.
This chapter measures both halves of that sentence: on small models where the exact gradient can be
computed by enumerating every $z$, and on the shipped binary VAE trained with it.
"""),
    code(INSTALL),
    code("""
import math
import torch
from vaebook import discrete, pretrained
from vaebook.data import BinarizedMNIST
from vaebook.discrete_vae import exact_straight_through, hard_neg_elbo_samples
from vaebook.plots import discrete as dplots, kl_per_dimension, learning_curves, prior_samples
from vaebook.widgets import explore

torch.manual_seed(0)
F64 = torch.float64
st_bern = discrete.get_estimator("straight-through")
st_cat = discrete.get_estimator("straight-through", categorical=True)
print(st_bern.__doc__, "\\n" + st_cat.__doc__)
"""),
    md(r"""
## Forward a sample, backward the probability

In code the trick is one line, `p + (z - p).detach()`: its value is the sample $z$, its gradient that
of $p$ (`discrete.straight_through_value`). For a Bernoulli latent with $p = \sigma(\ell)$ the backward pass
therefore gives $\partial z / \partial \ell = \sigma'(\ell) = p(1 - p)$; for a categorical one, the softmax Jacobian
$\partial p_c / \partial \ell_j = p_c(\delta_{cj} - p_j)$. We check both against autograd on the package's estimators:
"""),
    code("""
logits = torch.tensor([-2.0, -0.5, 0.0, 1.0, 3.0], dtype=F64, requires_grad=True)
z = st_bern(logits, {})
(dz,) = torch.autograd.grad(z.sum(), logits)
p = torch.sigmoid(logits.detach())
print("forward z:", z.detach().tolist(), "\\nbackward dz/dlogits:", dz.numpy().round(4),
      "\\np(1 - p):          ", (p * (1 - p)).numpy().round(4))
assert set(z.detach().tolist()) <= {0.0, 1.0} and torch.allclose(dz, p * (1 - p))
"""),
    code("""
cat_logits = torch.tensor([[0.5, -0.3, 0.1, 1.0]], dtype=F64, requires_grad=True)  # K = 1, C = 4
w = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=F64)
z = st_cat(cat_logits, {})
(grad,) = torch.autograd.grad((z * w).sum(), cat_logits)
pc = torch.softmax(cat_logits.detach(), -1)[0]
jacobian = torch.diag(pc) - torch.outer(pc, pc)  # d p_c / d logit_j
print("forward z:", z.detach().int().tolist(), "\\nbackward d(w.z)/dlogits:", grad[0].numpy().round(4),
      "\\n(dp/dlogits)^T w:        ", (jacobian.T @ w).numpy().round(4))
assert torch.allclose(grad[0], jacobian.T @ w)
"""),
    md(r"""
## Bias: comparing with the exact gradient

With $K$ Bernoulli latents there are $2^K$ values of $z$, so for small $K$ the exact gradient

$$
\nabla_\ell\, \mathbb E_{q}[f(z)] = \sum_{z \in \{0,1\}^K} f(z)\, \nabla_\ell\, q(z),
\qquad\text{per coordinate}\qquad
\frac{\partial}{\partial \ell_k} \mathbb E_q[f(z)] = p_k(1 - p_k)\, \mathbb E_{z_{-k}}\big[f(z_k{=}1, z_{-k}) - f(z_k{=}0, z_{-k})\big],
$$

is a finite sum (`discrete.exact_gradient`). The mean of the straight-through estimate,
$\mathbb E_q[\partial f / \partial z_k]\, p_k(1 - p_k)$, is a finite sum too (`exact_straight_through`), so its bias
can be computed with no Monte Carlo error. Comparing the two formulas: straight-through replaces the
*difference* $f(1, z_{-k}) - f(0, z_{-k})$ by the *slope* $\partial f / \partial z_k$ at the sampled corner.

As $f$ we take what a VAE's encoder differentiates: the reconstruction log-likelihood
$f(z) = \log p(x \mid z)$ of a fixed binary $x$ with 12 pixels under a small random decoder
$p(x \mid z) = \mathrm{Bernoulli}(\sigma(W z + b))$, with $K = 6$ latents. Against it, the **score-function**
estimator $f(z)\, \nabla_\ell \log q(z)$ (with a leave-one-out baseline), unbiased but noisier. 20,000
single-sample estimates of each:
"""),
    code("""
gen = torch.Generator().manual_seed(1)
W, b = 2.0 * torch.randn(12, 6, generator=gen, dtype=F64), torch.randn(12, generator=gen, dtype=F64)
x_small = torch.bernoulli(torch.full((12,), 0.5, dtype=F64), generator=gen)
def log_lik(z):  # f(z) = log p(x|z), z (..., 6) -> (...)
    return -torch.nn.functional.binary_cross_entropy_with_logits(z @ W.T + b, x_small.expand(*z.shape[:-1], 12),
                                                                 reduction="none").sum(-1)
logits6 = torch.tensor([-1.5, -0.5, 0.0, 0.5, 1.0, 2.0], dtype=F64)
exact6, st_mean6 = discrete.exact_gradient(logits6, log_lik), exact_straight_through(logits6, log_lik)
S = 20_000
samples = {name: discrete.gradient_samples(name, logits6, log_lik, {}, S) for name in ("straight-through", "score-function")}
print("q(z_k = 1):            ", torch.sigmoid(logits6).numpy().round(3))
print("exact gradient:        ", exact6.numpy().round(3))
print("straight-through mean (enumeration):", st_mean6.numpy().round(3))
for name, s in samples.items():
    print(f"{name:16s} mean of {S:,}: {s.mean(0).numpy().round(3)}  ± s.e. {(s.std(0) / S ** 0.5).numpy().round(3)}")
"""),
    code("""
dplots.gradient_histograms(samples, exact6, straight_through_mean=st_mean6,
                           title="d/dlogits E_q[log p(x|z)], K = 6: 20,000 single-sample estimates (black: exact; dashed: ST's exact mean)");
"""),
    md(r"""
Each panel is one coordinate of the gradient. The straight-through estimates (blue) are tightly
concentrated, but around the dashed line, not the black one; the score-function estimates (orange)
spread widely, centred on the exact gradient. The checks, with $\pm 4$ standard errors:
"""),
    code("""
se = {name: s.std(0) / S ** 0.5 for name, s in samples.items()}
sf_z = (samples["score-function"].mean(0) - exact6) / se["score-function"]
st_z = (samples["straight-through"].mean(0) - exact6) / se["straight-through"]
stats = {name: discrete.bias_and_variance(s, exact6) for name, s in samples.items()}
print("score function, (mean - exact) / s.e.:  ", sf_z.numpy().round(1))
print("straight-through, (mean - exact) / s.e.:", st_z.numpy().round(1))
for name, st in stats.items():
    print(f"{name:16s}: |bias| = {st['bias_norm']:.4f} (MC s.e. {st['mean_se_norm']:.4f}), "
          f"total variance {st['variance']:.3f}, cosine(mean, exact) {st['cosine']:.3f}")
assert sf_z.abs().max() < 4, "score function: unbiased"
assert st_z.abs().max() > 10, "straight-through: biased, far beyond Monte Carlo error"
assert torch.allclose(samples["straight-through"].mean(0), st_mean6, atol=4 * se["straight-through"].max().item())
assert stats["straight-through"]["variance"] < stats["score-function"]["variance"] / 5
"""),
    md(r"""
The trade-off in one line: straight-through has a variance many times smaller than the score function
but a bias that no number of samples removes; its average still points in roughly the right direction
(the cosine), which is what gradient descent needs most.

## When is straight-through exact?

The formula above says when the slope equals the difference: when $f$ is **affine in each $z_k$
separately** (multilinear), $\partial f / \partial z_k$ does not depend on $z_k$ and equals
$f(1, z_{-k}) - f(0, z_{-k})$ for every $z$, so straight-through is unbiased. For $f$ linear,
$f(z) = w^\top z$, the slope is the constant $w_k$: every single estimate equals the exact gradient
$w_k p_k (1 - p_k)$, zero variance. For the quadratic $f(z) = w^\top z + \lambda (w^\top z - c)^2$ the two
formulas differ by

$$
\mathbb E_q[\hat g_k^{\mathrm{ST}}] - \frac{\partial}{\partial \ell_k}\mathbb E_q[f(z)]
= \lambda\, w_k^2\, (2 p_k - 1)\, p_k (1 - p_k),
$$

(expand the square: the slope at the corner is $w_k + 2\lambda w_k(w^\top z - c)$, the difference is
$w_k + \lambda w_k (2(w^\top z_{-k} - c) + w_k)$; their expectations differ by $\lambda w_k^2 (2 p_k - 1)$),
linear in the nonlinearity $\lambda$ and zero at $p_k = \tfrac12$ and at $p_k \in \{0, 1\}$. Checked by enumeration:
"""),
    code("""
w4, c = torch.tensor([1.0, 2.0, -1.0, 0.5], dtype=F64), 1.0
logits4 = torch.tensor([-1.0, 0.3, 0.8, 2.0], dtype=F64)
p4 = torch.sigmoid(logits4)
linear = lambda z: z @ w4
st_linear = discrete.gradient_samples("straight-through", logits4, linear, {}, 1000)
print("f linear: every ST estimate equals the exact gradient?",
      bool(torch.allclose(st_linear, discrete.exact_gradient(logits4, linear).expand(1000, -1))))
for lam in (0.5, 1.0, 2.0):
    quad = lambda z: z @ w4 + lam * (z @ w4 - c) ** 2
    bias = exact_straight_through(logits4, quad) - discrete.exact_gradient(logits4, quad)
    formula = lam * w4 ** 2 * (2 * p4 - 1) * p4 * (1 - p4)
    print(f"lambda = {lam}: ST bias {bias.numpy().round(4)}   formula {formula.numpy().round(4)}")
    assert torch.allclose(bias, formula, atol=1e-12)
assert torch.allclose(st_linear, discrete.exact_gradient(logits4, linear).expand(1000, -1))
"""),
    md(r"""
The bias of one coordinate as its probability moves (the other latents fixed), for three values of
$\lambda$; the dots are Monte Carlo means of 20,000 straight-through estimates minus the exact gradient:
"""),
    code("""
def logits_with(p):  # q(z_1 = 1) = p, the other three latents as before
    return torch.cat([torch.logit(p).reshape(1), logits4[1:]])
def quadratic(lam):
    return lambda z: z @ w4 + lam * (z @ w4 - c) ** 2
p_grid = torch.linspace(0.01, 0.99, 99, dtype=F64)
curves = {f"lambda = {lam}": torch.stack([(exact_straight_through(logits_with(p), quadratic(lam))
                                           - discrete.exact_gradient(logits_with(p), quadratic(lam)))[0] for p in p_grid])
          for lam in (0.5, 1.0, 2.0)}
p_mc = torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9], dtype=F64)
mc = [discrete.gradient_samples("straight-through", logits_with(p), quadratic(2.0), {}, 20_000)[:, 0] for p in p_mc]
mc_bias = torch.stack([s.mean() - discrete.exact_gradient(logits_with(p), quadratic(2.0))[0] for s, p in zip(mc, p_mc)])
mc_se = torch.stack([s.std() / 20_000 ** 0.5 for s in mc])
formula = 2.0 * w4[0] ** 2 * (2 * p_mc - 1) * p_mc * (1 - p_mc)
assert ((mc_bias - formula).abs() < 4 * mc_se).all(), "Monte Carlo agrees with the closed form"
dplots.bias_curves(p_grid, curves, "q(z_1 = 1)", title="straight-through bias, coordinate 1, f = w.z + lambda (w.z - c)^2",
                   points={"Monte Carlo, lambda = 2 (20,000 samples, +-2 s.e.)": (p_mc, mc_bias, mc_se)});
"""),
    md(r"""
### Same $f$ on $\mathcal Z$, different gradients

The last check makes the notes' warning concrete. On $\{0, 1\}^K$, $z_k^2 = z_k$, so the quadratic equals a
multilinear polynomial: expanding $(w^\top z - c)^2$ and replacing every $z_k^2$ by $z_k$ gives
$\tilde f(z) = w^\top z + \lambda\big(\sum_k w_k^2 z_k + 2 \sum_{j < k} w_j w_k z_j z_k - 2 c\, w^\top z + c^2\big)$.
$f$ and $\tilde f$ agree at every one of the 16 corners, so they define the same objective and have the same
exact gradient, yet straight-through, which reads slopes *off* the corners, is biased for one and
unbiased for the other. What it estimates depends on how $f$ is extended from $\mathcal Z$ to the cube:
"""),
    code("""
lam = 2.0
quad = lambda z: z @ w4 + lam * (z @ w4 - c) ** 2
def multilinear(z):
    pairs = (z @ w4) ** 2 - (z ** 2) @ w4 ** 2  # 2 sum_{j<k} w_j w_k z_j z_k
    return z @ w4 + lam * (z @ w4 ** 2 + pairs - 2 * c * (z @ w4) + c ** 2)
corners = discrete.enumerate_states(4, dtype=F64)
print("max |f - f~| over the 16 corners:", (quad(corners) - multilinear(corners)).abs().max().item())
for name, fn in (("f  (quadratic)", quad), ("f~ (multilinear)", multilinear)):
    print(f"{name:17s} exact {discrete.exact_gradient(logits4, fn).numpy().round(4)}  "
          f"ST mean {exact_straight_through(logits4, fn).numpy().round(4)}")
assert torch.allclose(quad(corners), multilinear(corners))
assert torch.allclose(exact_straight_through(logits4, multilinear), discrete.exact_gradient(logits4, multilinear))
assert not torch.allclose(exact_straight_through(logits4, quad), discrete.exact_gradient(logits4, quad), atol=1e-3)
"""),
    md(r"""
A decoder network is far from multilinear in $z$, so in a VAE straight-through is biased; how much
depends on the network, on $p$ and on the data. The slider below moves all six probabilities of the
small decoder example from above together (the logits shifted by a common amount) and shows, per
coordinate, the exact gradient, straight-through's exact mean, and the means of 2,000 single-sample
estimates of each estimator with $\pm 2$ standard errors.
"""),
    code("""
def compare_at(shift):
    torch.manual_seed(0)
    l = logits6 + shift
    est = {name: discrete.gradient_samples(name, l, log_lik, {}, 2000) for name in ("straight-through", "score-function")}
    fig = dplots.estimator_bars(discrete.exact_gradient(l, log_lik),
                                {f"{n} (2,000 samples)": (s.mean(0), s.std(0) / 2000 ** 0.5) for n, s in est.items()},
                                title=f"logits shifted by {shift:+.1f}: mean q(z_k = 1) = {torch.sigmoid(l).mean():.2f}", ylim=(-1.6, 1.6))
    fig.axes[0].plot(range(6), exact_straight_through(l, log_lik).numpy(), "_", color="C0", ms=14, mew=2,
                     label="straight-through, exact mean")
    fig.axes[0].legend(fontsize=7)
    return fig
explore(compare_at, shift=[-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0], initial={"shift": 0.0}, dpi=60,
        title="straight-through vs score function as q moves")
"""),
    md(r"""
As the probabilities move towards 0 or 1 every gradient shrinks (the factor $p_k(1 - p_k)$), but the
straight-through error does not shrink with it. At a shift of $-3$ (most $q(z_k = 1) < 0.2$) its mean
misses coordinate 6 altogether and overstates coordinate 5 about fourfold:
"""),
    code("""
exact_m3, st_m3 = discrete.exact_gradient(logits6 - 3, log_lik), exact_straight_through(logits6 - 3, log_lik)
print("logits shifted by -3: exact", exact_m3.numpy().round(3), "\\n                straight-through mean", st_m3.numpy().round(3))
assert st_m3[5].abs() < 0.1 < exact_m3[5].abs() and st_m3[4] > 3 * exact_m3[4] > 0
"""),
    md(r"""
## Categorical latents

The same comparison for $K = 2$ one-hot latents with $C = 3$ classes ($3^2 = 9$ states) and a nonlinear
$f(z) = \big(\sum_{k,c} a_{kc} z_{kc} - 2\big)^2$: straight-through is biased, the score function is not.
For $f$ linear in $z$, $f = \sum_{kc} a_{kc} z_{kc}$, straight-through is again exact with zero variance: the
backward pass is $(\partial p / \partial \ell)^\top a$, which is the gradient of $\mathbb E_q[f] = \sum_{kc} a_{kc} p_{kc}$.
"""),
    code("""
a = torch.tensor([[0.0, 1.0, 3.0], [2.0, -1.0, 0.5]], dtype=F64)
f_cat = lambda z: ((z * a).sum((-2, -1)) - 2.0) ** 2
l_cat = torch.tensor([[0.5, -0.3, 0.1], [-1.0, 0.8, 0.2]], dtype=F64)
exact_c = discrete.exact_gradient(l_cat, f_cat, categorical=True)
cat_samples = {n: discrete.gradient_samples(n, l_cat, f_cat, {}, S, categorical=True) for n in ("straight-through", "score-function")}
cat_z = {n: (s.mean(0) - exact_c) / (s.std(0) / S ** 0.5) for n, s in cat_samples.items()}
print("exact gradient (K = 2, C = 3):\\n", exact_c.numpy().round(3))
for n, zs in cat_z.items():
    print(f"{n:16s}: mean\\n{cat_samples[n].mean(0).numpy().round(3)}\\n  (mean - exact) / s.e.: {zs.flatten().numpy().round(1)}")
"""),
    code("""
linear_c = lambda z: (z * a).sum((-2, -1))
st_lin = discrete.gradient_samples("straight-through", l_cat, linear_c, {}, 1000, categorical=True)
assert cat_z["score-function"].abs().max() < 4 and cat_z["straight-through"].abs().max() > 10
assert torch.allclose(cat_samples["straight-through"].mean(0), exact_straight_through(l_cat, f_cat, True),
                      atol=4 * (cat_samples["straight-through"].std(0) / S ** 0.5).max().item())
assert torch.allclose(st_lin, discrete.exact_gradient(l_cat, linear_c, True).expand(1000, -1, -1))
dplots.gradient_histograms({n: s.flatten(1) for n, s in cat_samples.items()}, exact_c.flatten(),
                           straight_through_mean=exact_straight_through(l_cat, f_cat, True).flatten(),
                           title="categorical K = 2, C = 3: single-sample estimates of the 6 coordinates");
"""),
    md(r"""
## A binary VAE trained with straight-through

The shipped `bin_straight_through` is the 784-512-256-200 ReLU MLP of Jang et al. (2016) with 200
Bernoulli latents and a Bernoulli$(\tfrac12)$ prior, trained with straight-through on the reconstruction
term (the KL term is in closed form): Adam $10^{-3}$ with a cosine schedule, batch 100, dynamic
binarization, KL weight ramped from 0 over the first 30 % of training, for a wall-clock budget of 320 s
on one H200 GPU shared with 12 other trainings. Its weights are stored as int8; the recorded metrics are
those of the stored weights.
"""),
    code("""
ckpt = pretrained.load("bin_straight_through")
model, history = ckpt.model, ckpt.history
print(ckpt.model_config)
print(f"{len(history)} epochs, {sum(r['seconds'] for r in history):.0f} s of training")
print("recorded, all 10,000 test images:", {k: round(v, 2) for k, v in ckpt.metrics["test"].items() if k in ("neg_elbo", "neg_elbo_se", "iw_nll", "iw_samples")})
"""),
    md(r"""
(`iw_nll` is the importance-weighted bound with `iw_samples` samples of $z$ per image, a tighter upper
bound on $-\log p(x)$ than the $-$ELBO.) We recompute its test $-$ELBO on the first 1,000 test images (binarized once, seed 0), decoding exact
discrete samples $z \sim q_\phi(z \mid x)$, 20 per image (`hard_neg_elbo_samples`). The checkpoint recorded
the same quantity on the same images with one sample per image (`metrics["check"]`). The two differ only
by the Monte Carlo noise of $z$, whose standard error we estimate from the per-image spread of our 20
samples:
"""),
    code("""
test = BinarizedMNIST.load("test", "dynamic", seed=0, limit=1000)
x = test.fixed()
torch.manual_seed(0)
values = torch.cat([hard_neg_elbo_samples(model, xb, num_samples=20) for xb in x.split(250)], dim=1)  # (20, 1000)
ours, per_image_var = values.mean().item(), values.var(0).mean().item()
recorded = ckpt.metrics["check"]
se_diff = math.sqrt(per_image_var / 1000 * (1 + 1 / 20))  # z-noise of the recorded 1-sample value and of ours
print("data:", test.describe(fixed=True))
print(f"test -ELBO, straight-through model, hard z: {ours:.2f} nats (20 samples per image; "
      f"± {values.mean(0).std().item() / 1000 ** 0.5:.2f} over images)")
print(f"recorded (1 sample per image, same images): {recorded['neg_elbo']:.2f}; difference "
      f"{ours - recorded['neg_elbo']:+.2f}, standard error of the difference from z alone {se_diff:.2f}")
assert recorded["num_images"] == 1000 and abs(ours - recorded["neg_elbo"]) < 4 * se_diff
"""),
    md(r"""
The learning curves, as recorded during training (float weights; the test numbers with one sample of $z$
per image on all 10,000 test images). While the KL weight is still small, in the first 30 % of training
(about 10 of the 32 epochs), the encoder spends many nats on $z$; as the weight reaches 1 the KL term is
pushed down to about 22 nats and stays there, while the reconstruction term keeps improving slowly:
"""),
    code("""
learning_curves(history, "bin_straight_through: 784-512-256-200, 200 Bernoulli latents, straight-through, dynamic binarization");
"""),
    code("""
torch.manual_seed(0)
dplots.hard_reconstructions(model, x[:12], num_samples=2, title="test images and two decoded samples z ~ q(z|x) each");
"""),
    code("""
torch.manual_seed(0)
prior_samples(model, 30, title="30 samples z ~ Bernoulli(1/2)^200, decoded (E[x|z])");
"""),
    md(r"""
Samples from the prior are much worse than reconstructions: the uniform prior over $2^{200}$ codes puts
almost all its mass on codes the encoder never produces (the aggregate posterior is far from uniform),
a gap this model does nothing to close.

### How many latents are used?

The KL term decomposes over the latents, $\sum_k D_{\mathrm{KL}}(q(z_k \mid x) \,\|\, p(z_k))$. A latent whose
average KL is near zero has $q(z_k = 1 \mid x) \approx \tfrac12$ for every $x$, the collapse of the previous
chapter but for one coordinate; its samples are coin flips that the decoder learns to ignore. A latent
can carry at most $\log 2 = 0.69$ nats (a deterministic bit):
"""),
    code("""
with torch.no_grad():
    kl_k = model.kl_per_dimension(x).mean(0)  # (200,) nats, first 1,000 test images
active = int((kl_k > 0.01).sum())
recorded_kl = torch.tensor(history[-1]["test_kl_per_dim"])  # all 10,000 test images, float weights
print(f"latents with E_x KL(q(z_k|x) || p(z_k)) > 0.01 nats: {active} of 200; per latent from {kl_k.min():.3f} "
      f"to {kl_k.max():.3f} nats (at most log 2 = {math.log(2):.3f}); total {kl_k.sum():.2f} nats "
      f"(history, all 10,000 test images: {recorded_kl.sum():.2f})")
assert abs(kl_k.sum() - recorded_kl.sum()) < 1.0 and active == 200 and kl_k.max() < 0.5 * math.log(2)
kl_per_dimension(kl_k, title=f"bin_straight_through, KL per latent on 1,000 test images: {active} of 200 above 0.01 nats");
"""),
    md(r"""
Every one of the 200 latents is used, and none is close to a deterministic bit: each carries between
about 0.05 and 0.2 nats. The code is spread thinly over all coordinates and stays noisy, which is why the
two decoded samples of the same image above can differ visibly.

### Against the literature and the other estimators

The reference numbers this book uses (DESIGN notes, section 6) are from Jang et al. (2016), Table 1:
$-$ELBO on MNIST with 20 x 10 categorical latents, Gumbel-softmax 101.5, straight-through Gumbel-softmax
107.8, score function 110.6; and, in the Gumbel-softmax row, 105.0 with Bernoulli latents. Plain straight-through
as defined here is not among those reference numbers, so there is no like-for-like literature value for
this model; the nearest is the Bernoulli-latent 105.0. Their MNIST was binarized once (fixed) and their
models trained far longer; ours trained with dynamic binarization for 320 s on a shared GPU, and is
evaluated on the test set binarized once. Between estimators the fair comparison is with the other
shipped binary VAEs, identical except for the estimator and trained for the same wall-clock budget
(the chapter comparing the estimators goes through all of them):
"""),
    code("""
print("test -ELBO, hard z, 1 sample, all 10,000 MNIST test images (binarized once, seed 0); same architecture and budget")
for name in ("bin_straight_through", "bin_st_gumbel", "bin_gumbel_tau05", "bin_gumbel_tau1", "bin_score_function"):
    other = pretrained.load(name)
    print(f"  {name:22s} estimator {other.model_config.estimator:24s} {other.metrics['test']['neg_elbo']:6.1f} nats  "
          f"({len(other.history)} epochs)")
print("Jang et al. 2016, Table 1 (fixed binarization): Bernoulli latents (Gumbel-softmax) 105.0; 20 x 10 categorical: "
      "Gumbel-softmax 101.5, ST-Gumbel 107.8, score function 110.6")
"""),
    md(r"""
Straight-through is far ahead of the score function (unbiased, but too noisy to make as much progress in
the same time) and level with the Gumbel-softmax at a fixed temperature of 1; the Gumbel-softmax at
temperature 0.5 and, best of these, straight-through Gumbel-softmax do better. Those are the next
chapter: they differentiate a continuous relaxation of the sample instead of declaring a derivative.

## Retraining

The checkpoint stores the command that trained it; `bash scripts/train_pretrained_discrete.sh
bin_straight_through` reruns it (with `TIME_LIMIT=320` for the same time budget, or `EPOCHS=N`).
"""),
    code("""
print(ckpt.metrics["test"]["command"])
"""),
]


if __name__ == "__main__":
    print(write("discrete_latents", DISCRETE))
    print(write("straight_through", STRAIGHT_THROUGH))
