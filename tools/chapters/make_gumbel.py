"""Writes book/gumbel_softmax.ipynb (notes 2.2): ``python tools/chapters/make_gumbel.py``.

The chapter is committed without outputs; edit this script and rerun it rather
than editing the notebook by hand.
"""
from common import INSTALL, code, md, write

NAME = "gumbel_softmax"

cells = [
    md(r"""
# Gumbel-softmax

A one-hot latent $z \in \{e_1, \dots, e_M\}$ drawn with probabilities $p_1, \dots, p_M$ has no pathwise
gradient: any sampler $z = g(\phi, x, \epsilon)$ is piecewise constant in $\phi$. Section 2.2 of the notes
follows Jang et al. (2016) and Maddison et al. (2017): write the sample as the arg max of perturbed
log-probabilities, then replace the arg max by a softmax with a temperature $\tau$. The result is a
continuous point of the simplex that a decoder can take and that is differentiable in $p$; as
$\tau \to 0$ it becomes the one-hot sample again, at the price of noisier gradients.

This chapter checks each step: the Gumbel-max trick against $p$ with a chi-squared test, the relaxation
on the triangle of three classes (with a temperature slider), the bias and variance of the gradient
against $\tau$ on a model small enough to enumerate, the annealing schedules (and a schedule that
never anneals), the straight-through variant, and finally the categorical VAE of Jang et al.
(20 latents of 10 classes) on MNIST, with both the relaxed and the exact discrete $-$ELBO.
"""),
    code(INSTALL),
    code("""
import torch
from vaebook import discrete, pretrained
from vaebook.annealing import ExponentialDecay
from vaebook.data import BinarizedMNIST
from vaebook.plots import core, gumbel
from vaebook.training import TrainState, column
from vaebook.widgets import explore

gumbel_softmax = discrete.get_estimator("gumbel-softmax", categorical=True)
st_gumbel = discrete.get_estimator("straight-through-gumbel", categorical=True)
print("categorical estimators:", sorted(discrete.CATEGORICAL_ESTIMATORS))
"""),
    md(r"""
## The Gumbel-max trick

Let $g_1, \dots, g_M$ be independent standard Gumbel variables, $g_i = -\log(-\log u_i)$ with
$u_i \sim U(0, 1)$. Then

$$
P\Big[\,j = \arg\max_{i}\, (\log p_i + g_i)\Big] = p_j, \qquad\text{so}\qquad
z = e_{\arg\max_i (\log p_i + g_i)} \sim \mathrm{Categorical}(p).
$$

(The maximum of $\log p_i + g_i$ is Gumbel with location $\log \sum_i p_i$, and the index attaining it
is independent of its value and falls on $j$ with probability $p_j / \sum_i p_i$.) Note the logarithm:
the noise is added to $\log p_i$, or to unnormalized logits, never to $p_i$ itself.

A chi-squared goodness-of-fit test checks the frequencies of $N = 20{,}000$ draws against $p$:
$X^2 = \sum_j (n_j - N p_j)^2 / (N p_j)$ is approximately $\chi^2$ with $M - 1$ degrees of freedom if
the samples follow $p$. Its p-value is the upper regularized incomplete gamma function,
$P[\chi^2_{M-1} > X^2] = Q\big(\tfrac{M-1}{2}, \tfrac{X^2}{2}\big)$ (`torch.special.gammaincc`); at
$M - 1 = 4$ degrees of freedom the textbook critical value 18.47 at level 0.001 must give 0.001.
"""),
    code("""
def chi_squared(counts, p):
    \"\"\"Pearson's X^2 of category counts against probabilities p, and its p-value (df = M - 1).\"\"\"
    expected = counts.sum() * p
    stat = ((counts - expected) ** 2 / expected).sum()
    return stat.item(), torch.special.gammaincc(torch.tensor((len(p) - 1) / 2), stat / 2).item()

print(f"P[chi2_4 > 18.47] = {torch.special.gammaincc(torch.tensor(2.0), torch.tensor(18.47 / 2)).item():.5f}")
assert abs(torch.special.gammaincc(torch.tensor(2.0), torch.tensor(18.47 / 2)).item() - 0.001) < 1e-5
"""),
    code("""
torch.manual_seed(0)
p = torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05], dtype=torch.float64)  # M = 5 classes
g = discrete.gumbel_noise(p.expand(20_000, 5))  # (N, M) standard Gumbel noise
counts = torch.bincount((p.log() + g).argmax(-1), minlength=5).double()
stat, p_value = chi_squared(counts, p)
print("frequencies of argmax(log p + g):", (counts / counts.sum()).numpy().round(4), " p:", p.numpy())
print(f"chi-squared X^2 = {stat:.2f} (4 degrees of freedom), p-value {p_value:.3f}")
assert p_value > 0.001, "Gumbel-max frequencies are consistent with p at level 0.001"
"""),
    md(r"""
The test has power: the same counts tested against a slightly different $p' = \mathrm{softmax}(1.1 \log p)$,
and the frequencies of the common bug $\arg\max_i (p_i + g_i)$ (noise added to probabilities) tested
against $p$, are both rejected far beyond the level 0.001:
"""),
    code("""
p_wrong = torch.softmax(1.1 * p.log(), -1)
wrong_counts = torch.bincount((p + g).argmax(-1), minlength=5).double()
for label, (c, q) in {"Gumbel-max counts vs p' = softmax(1.1 log p)": (counts, p_wrong),
                      "argmax(p + g) (the bug) vs p": (wrong_counts, p)}.items():
    s, pv = chi_squared(c, q)
    print(f"{label:46s} X^2 = {s:8.1f}, p-value {pv:.1e}")
    assert pv < 1e-6, label
"""),
    md(r"""
## The relaxation: softmax with a temperature

The arg max has zero derivative almost everywhere. The Gumbel-softmax (or Concrete) sample replaces
the one-hot vector by

$$
y_i = \frac{\exp\big((\log p_i + g_i)/\tau\big)}{\sum_{j=1}^{M} \exp\big((\log p_j + g_j)/\tau\big)},
\qquad i = 1, \dots, M, \qquad \tau > 0,
$$

i.e. $y = \mathrm{softmax}\big((\log p + g)/\tau\big)$. (The scan of the notes garbles this fraction:
the temperature divides the *whole* exponent $\log p_i + g_i$.) $y$ lies inside the simplex, is
differentiable in $p$, and has the same arg max as $\log p + g$ at every temperature, so
$\operatorname{one\_hot}(\arg\max_i y_i)$ is exactly the Gumbel-max sample. `discrete.gumbel_softmax`
is this formula; with the same noise the two agree:
"""),
    code("""
logits, params = torch.randn(4, 5), {"temperature": 0.5}
torch.manual_seed(1)
by_hand = torch.softmax((logits + discrete.gumbel_noise(logits)) / params["temperature"], -1)
torch.manual_seed(1)
y = gumbel_softmax(logits, params)
print("y (4 samples of M = 5):\\n", y.numpy().round(3))
assert torch.allclose(y, by_hand) and torch.allclose(y.sum(-1), torch.ones(4))
"""),
    md(r"""
### Three classes on the triangle

With $M = 3$ every $y$ is a point of the triangle whose corners are the one-hot vectors $e_1, e_2, e_3$.
Below, 1,500 samples for $p = (0.55, 0.30, 0.15)$, the *same* Gumbel noise at every temperature, coloured
by their arg max. As $\tau \to 0$ the samples run into the corners (they become the Gumbel-max samples);
as $\tau$ grows they gather at the centre $(1/3, 1/3, 1/3)$, whatever $p$ is. The right panel shows
$\max_i y_i$: 1 at a corner, $1/3$ at the centre.
"""),
    code("""
probs3 = torch.tensor([0.55, 0.30, 0.15])
TEMPERATURES = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0]

def relaxed(tau, num_samples=1500):
    torch.manual_seed(2)  # the same Gumbel noise at every temperature
    return gumbel_softmax(probs3.log().expand(num_samples, 3), {"temperature": tau})

explore(lambda tau: gumbel.simplex_samples(relaxed(tau), probs3, tau), tau=TEMPERATURES, initial={"tau": 0.5},
        dpi=60, title="Gumbel-softmax samples on the simplex: temperature tau")
"""),
    md(r"""
The same in numbers. For one noise draw, $\max_i \mathrm{softmax}(a/\tau)_i$ can only fall as $\tau$ grows
(a softmax at a higher temperature is flatter), and the arg max never changes; we check both for every
sample, and that the class frequencies of the arg max match $p$:
"""),
    code("""
samples = {tau: relaxed(tau) for tau in TEMPERATURES}
print(f"{'tau':>5s} {'mean max_i y_i':>15s} {'within 0.01 of a corner':>24s} {'mean |y - centre|':>18s}")
for tau, y in samples.items():
    print(f"{tau:5g} {y.max(-1).values.mean():15.3f} {(y.max(-1).values > 0.99).float().mean():24.1%} "
          f"{(y - 1 / 3).norm(dim=-1).mean():18.3f}")
tops = torch.stack([y.max(-1).values for y in samples.values()])  # (temperatures, N)
assert torch.all(tops[1:] <= tops[:-1] + 1e-6), "max_i y_i falls as tau grows, sample by sample"
assert all(torch.equal(y.argmax(-1), samples[1.0].argmax(-1)) for y in samples.values())
assert chi_squared(torch.bincount(samples[1.0].argmax(-1), minlength=3).double(), probs3.double())[1] > 0.001
"""),
    md(r"""
## Bias and variance of the gradient against $\tau$

The relaxation makes the estimator biased: $\nabla_\phi \mathbb E_g[f(y)]$ is not
$\nabla_\phi \mathbb E_z[f(z)]$ unless $\tau \to 0$. The notes warn that lowering $\tau$ costs variance.
Both can be measured exactly on a model small enough to enumerate: $K = 2$ categorical latents with
$C = 3$ classes and a nonlinear $f(z) = (\sum_{k,c} w_c z_{kc} - 2)^2$ with $w = (0, 1, 3)$. The exact
gradient of $\mathbb E_q[f(z)]$ with respect to the $2 \times 3$ logits is a sum over the 9 joint states
(`discrete.exact_gradient`); `discrete.gradient_samples` draws $S = 20{,}000$ independent single-sample
estimates per temperature. For each estimator we report the bias $\lVert \bar g - \nabla \rVert$ (with the
standard error of $\bar g$) and the variance of one estimate summed over the 6 logits. The score-function
estimator (REINFORCE with a leave-one-out baseline) has no temperature and no bias; its variance is
drawn as a line.
"""),
    code("""
logits2 = torch.tensor([[0.5, -0.3, 0.1], [-1.0, 0.8, 0.2]], dtype=torch.float64)  # K = 2 latents, C = 3
w = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
f = lambda z: ((z * w).sum((-2, -1)) - 2.0) ** 2  # (S, K, C) -> (S,)
exact = discrete.exact_gradient(logits2, f, categorical=True)
GRAD_TAUS = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
torch.manual_seed(3)
stats = {name: [discrete.bias_and_variance(discrete.gradient_samples(
             name, logits2, f, {"temperature": tau}, 20_000, categorical=True), exact) for tau in GRAD_TAUS]
         for name in ("gumbel-softmax", "straight-through-gumbel")}
score = discrete.bias_and_variance(discrete.gradient_samples("score-function", logits2, f, {}, 20_000, True), exact)
print("exact gradient:\\n", exact.numpy().round(3))
print(f"score function: bias {score['bias_norm']:.3f} (s.e. {score['mean_se_norm']:.3f}), variance {score['variance']:.2f}")
"""),
    code("""
gumbel.bias_variance_vs_temperature(GRAD_TAUS, stats, {"score function": score["variance"]});
"""),
    md(r"""
Lowering $\tau$ from 5 to 0.1 divides the bias of the Gumbel-softmax gradient by more than ten and
multiplies its variance by several thousand. At a low temperature most samples sit near a corner,
where the softmax is flat; the few that the noise puts near an edge between two classes see a slope
of order $1/\tau$, and they dominate the variance. Straight-through Gumbel follows the same pattern
with more variance (its forward pass is one-hot, its backward pass is still $\partial y / \partial \phi$).
On this 6-logit toy problem the Gumbel-softmax variance passes the score function's between
$\tau = 0.5$ and $0.2$; in a VAE the score function's variance grows with the number of latents that
share one reconstruction term, which is why relaxations win there. The assertions check the monotone
trends where Monte Carlo noise cannot blur them: the variance rises at every step down in $\tau$; the
bias falls by more than four standard errors at every step down to $\tau = 0.5$, and stays below its
$\tau = 0.5$ value at 0.2 and 0.1, where what is left of it is of the order of the Monte Carlo error.
"""),
    code("""
gs = stats["gumbel-softmax"]
variance, bias, se = ([r[k] for r in gs] for k in ("variance", "bias_norm", "mean_se_norm"))
assert all(lo > 1.5 * hi for lo, hi in zip(variance, variance[1:])), "variance grows as tau falls"
down_to_half = range(GRAD_TAUS.index(0.5), len(GRAD_TAUS) - 1)
assert all(bias[i + 1] - bias[i] > 4 * (se[i] + se[i + 1]) for i in down_to_half), "bias falls with tau"
assert max(bias[:2]) < bias[2] and bias[-1] > 5 * bias[0]
assert score["bias_norm"] < 4 * score["mean_se_norm"], "the score function is unbiased"
print("Gumbel-softmax, tau = 5 -> 0.1: bias", f"{bias[-1]:.3f} -> {bias[0]:.3f}, variance {variance[-1]:.3f} -> {variance[0]:.1f}")
"""),
    md(r"""
## Annealing the temperature

Jang et al. (2016) therefore start warm and cool during training:

$$
\tau(t) = \max\big(\tau_{\min},\ \tau_0\, e^{-r t}\big), \qquad \tau_0 = 1,\ \tau_{\min} = 0.5,\
r \in \{10^{-5}, 10^{-4}\},
$$

with $t$ the training step, updated every $N = 500$ or $1000$ steps (`annealing.ExponentialDecay`).
With $r = 10^{-4}$ the floor is reached after about $\ln 2 / r \approx 6{,}900$ steps; with $r = 10^{-5}$
after about 69,000. A dot marks the first step at the floor (`steps_to_floor`).
"""),
    code("""
schedules = {f"r = {r:g}, every {n}": ExponentialDecay(start=1.0, minimum=0.5, rate=r, every=n)
             for r in (1e-4, 1e-5) for n in (500, 1000)}
for label, s in schedules.items():
    print(f"{label:20s} tau(0) = {s(0):.3f}, tau(5,000) = {s(5000):.3f}, floor 0.5 from step {s.steps_to_floor():,}")
    assert s(0) == 1.0 and s(s.steps_to_floor() - 1) > 0.5 == s(s.steps_to_floor())
    assert s(s.every - 1) == 1.0, "tau changes only every N steps"
gumbel.temperature_schedules(schedules, 100_000);
"""),
    md(r"""
### A schedule that never anneals

A mistake other implementations made (DESIGN.md, section 7): a schedule whose floor equals its start,
such as $\tau = \max(0.5,\ 0.5\, e^{-r t})$, is constant. The code looks annealed and the text claims
annealing, but the model trains at a fixed $\tau = 0.5$. `ExponentialDecay` refuses to build it (use
`rate=0` for a deliberately fixed temperature):
"""),
    code("""
try:
    ExponentialDecay(start=0.5, minimum=0.5, rate=1e-4, every=500)
except ValueError as err:
    refused = err
    print("ValueError:", err)
assert "never changes" in str(refused)
print("a fixed temperature, said so:", ExponentialDecay(start=0.5, rate=0.0))
"""),
    md(r"""
The shipped categorical VAE (below) was trained with $\tau_0 = 1$, $\tau_{\min} = 0.5$, $r = 10^{-4}$,
updates every 500 steps. Its history records the temperature at the end of each epoch (600 steps of
100 images); it must be the schedule at step $600 \cdot \text{epoch}$, fall, and end at the floor:
"""),
    code("""
ckpt = pretrained.load("cat_gumbel_vae")
model, history = ckpt.model, ckpt.history
tau_hist, steps_per_epoch = column(history, "test_temperature"), 60_000 // ckpt.train_config.batch_size
print("tau at the end of epochs 1-12:", [round(t, 3) for t in tau_hist[:12]], "... epoch", len(tau_hist), ":", tau_hist[-1])
assert all(abs(t - model.temperature_schedule(steps_per_epoch * (e + 1))) < 1e-6 for e, t in enumerate(tau_hist))
assert all(b <= a for a, b in zip(tau_hist, tau_hist[1:])) and tau_hist[0] > 0.9 and tau_hist[-1] == 0.5
"""),
    md(r"""
## Straight-through Gumbel ("hard")

The decoder at test time sees one-hot codes, but trained on relaxed ones. The straight-through
variant uses the one-hot sample $z = \operatorname{one\_hot}(\arg\max_i y_i)$ in the forward pass and the
Gumbel-softmax gradient $\partial y / \partial \phi$ in the backward pass, written
$z = y + \mathrm{sg}[\operatorname{one\_hot}(\arg\max y) - y]$ with $\mathrm{sg}$ the stop-gradient. With the
same noise, the forward values are one-hot and the gradients equal the relaxed ones:
"""),
    code("""
logits_st = torch.tensor([[1.0, 0.0, -1.0]], requires_grad=True)
w3 = torch.tensor([1.0, 2.0, 5.0])
torch.manual_seed(4)
z = st_gumbel(logits_st, {"temperature": 0.5})
torch.manual_seed(4)
y = gumbel_softmax(logits_st, {"temperature": 0.5})
(grad_z,), (grad_y,) = torch.autograd.grad((z * w3).sum(), logits_st), torch.autograd.grad((y * w3).sum(), logits_st)
print("forward: z =", z.detach().numpy(), " y =", y.detach().numpy().round(3))
print("backward: d(w.z)/dlogits =", grad_z.numpy().round(4), " d(w.y)/dlogits =", grad_y.numpy().round(4))
assert torch.equal(z.detach(), torch.nn.functional.one_hot(y.argmax(-1), 3).float()) and torch.allclose(grad_z, grad_y)
"""),
    md(r"""
## The categorical VAE on MNIST

Jang et al.'s model: an MLP encoder 784-512-256 outputs $20 \times 10$ logits, i.e. $K = 20$ latents
of $C = 10$ classes, and a uniform prior over the $10^{20}$ codes; the decoder mirrors the encoder and
outputs Bernoulli pixel probabilities. Training draws $y$ with the Gumbel-softmax and decodes it; the
KL term is the closed-form KL between the *discrete* $q(z \mid x)$ and the prior, as in the paper.
Adam with a cosine-decayed learning rate from $10^{-3}$, batch 100, the KL weight ramped from 0 to 1
over the first 30 % of training, dynamic binarization (each epoch a fresh Bernoulli sample of the grey
images). It trained for 300 s on a shared H200 GPU: 52 epochs.
"""),
    code("""
c = ckpt.model_config
print(f"{c.num_latents} latents x {c.num_classes} classes, hidden {c.hidden}, estimator {c.estimator}, "
      f"tau = max({c.temperature_min}, {c.temperature} exp(-{c.anneal_rate:g} t)) every {c.anneal_every} steps")
print(f"{sum(p.numel() for p in model.parameters()):,} parameters, {len(history)} epochs, "
      f"{sum(column(history, 'seconds')):.0f} s of training")
"""),
    md(r"""
Two $-$ELBOs are recorded at each epoch, both with the closed-form KL:

- **relaxed**: the decoder sees $y = \mathrm{softmax}((\log q + g)/\tau)$, as in training (at the current
  $\tau$). This is the objective the model was optimized for, and the quantity comparable to Jang et
  al.'s reported 101.5. It is *not* a bound on the likelihood of the discrete model.
- **hard**: the decoder sees a one-hot sample $z \sim q(z \mid x)$. This is a true lower bound on
  $\log p_\theta(x)$ of the discrete latent-variable model, the number the model can be held to.
"""),
    code("""
gumbel.relaxed_and_hard_curves(history, {"Jang et al. (2016), Gumbel-softmax: 101.5": 101.5},
                               "cat_gumbel_vae (20 x 10): -ELBO per epoch, MNIST");
"""),
    md(r"""
The hard bound stays above the relaxed one throughout: by about 4 nats after the first epoch, and by
8-9 nats from the time $\tau$ reaches its floor of 0.5 (epoch 12) to the end. At $\tau = 0.5$ the decoder
is still trained on points inside the simplex rather than on one-hot codes, and the gap does not close
with more epochs.

### The numbers, recomputed

Each epoch's values above are on the whole test set (10,000 images, binarized once with seed 0). We
recompute both on the first 1,000 test images with the final temperature 0.5, one sample per image,
and compare with the recorded values within three standard errors (of the mean over these 1,000
images). The hard $-$ELBO of the same 1,000 images was also recorded after training (`metrics["check"]`).
"""),
    code("""
x_check = BinarizedMNIST.load("test", "dynamic", seed=0, limit=1000).fixed()
final = TrainState(ckpt.train_config, step=steps_per_epoch * len(history), total_steps=steps_per_epoch * len(history))
torch.manual_seed(5)
with torch.no_grad():
    out = model.objective(x_check, final)  # eval mode: neg_elbo is the hard one
now = {k: (out[k].mean().item(), out[k].std().item() / len(x_check) ** 0.5) for k in ("neg_elbo", "relaxed_neg_elbo")}
print(f"temperature {out['temperature'][0]:.2f}; first 1,000 test images (fixed binarization, seed 0), one z per image")
print(f"hard -ELBO:    {now['neg_elbo'][0]:6.2f} ± {now['neg_elbo'][1]:.2f}   recorded: same images "
      f"{ckpt.metrics['check']['neg_elbo']:.2f}, all 10,000 {ckpt.metrics['test']['neg_elbo']:.2f}")
print(f"relaxed -ELBO: {now['relaxed_neg_elbo'][0]:6.2f} ± {now['relaxed_neg_elbo'][1]:.2f}   recorded: all 10,000 "
      f"{history[-1]['test_relaxed_neg_elbo']:.2f}")
"""),
    code("""
(hard, hard_se), (soft, soft_se) = now["neg_elbo"], now["relaxed_neg_elbo"]
assert abs(hard - ckpt.metrics["check"]["neg_elbo"]) < 3 * hard_se
assert abs(hard - history[-1]["test_hard_neg_elbo"]) < 3 * hard_se
assert abs(soft - history[-1]["test_relaxed_neg_elbo"]) < 3 * soft_se
relaxed_all, hard_all = history[-1]["test_relaxed_neg_elbo"], ckpt.metrics["test"]["neg_elbo"]
assert relaxed_all < 101.5 < hard_all, "what the text below says"
print(f"MNIST test set, 10,000 images:  relaxed -ELBO {relaxed_all:.1f}  |  hard -ELBO {hard_all:.1f}  |  "
      f"IW NLL (S = {ckpt.metrics['test']['iw_samples']}) {ckpt.metrics['test']['iw_nll']:.1f}  |  "
      "Jang et al. (2016), Gumbel-softmax: 101.5 (ST-Gumbel 107.8, score function 110.6)")
"""),
    md(r"""
**Against the literature.** Our relaxed $-$ELBO (about 98) is below Jang et al.'s 101.5, but the exact
discrete bound, about 107, is above it: **the target of 101.5 is not met on the hard bound**. The
relaxed number is not a bound on anything the discrete model guarantees; the hard number is. (The
importance-weighted estimate with $S = 100$ samples of the discrete model's $-\log p(x)$, about 95, is
itself an upper bound and lies below both.) The settings differ: Jang et al. used a fixed binarization
of MNIST, while we train with dynamic binarization and test on the test set binarized once (seed 0),
(published numbers on the two kinds of binarization differ by about 2 nats, so the comparison is
approximate); and our model
trained for a budget of 300 s (52 epochs), which was not enough for the hard bound to reach 101.5.

## Samples and reconstructions

Decoding random one-hot codes (each of the 20 latents uniform over its 10 classes, the prior) gives
digits: the 20 categorical latents carry about 22 nats of KL per image (at most $20 \log 10 \approx 46$),
enough for the digit and its style. Below them, test images, the decoded mode of $q(z \mid x)$ and a
decoded sample from it.
"""),
    code("""
torch.manual_seed(6)
core.prior_samples(model, 30, 10, "decoded z ~ p(z): 20 latents, each a uniform one-hot over 10 classes (E[x|z])");
"""),
    code("""
x_test = BinarizedMNIST.load("test", "dynamic", seed=0).fixed()
torch.manual_seed(7)
gumbel.categorical_reconstructions(model, x_test[:12]);
"""),
    md(r"""
### What one latent does

How much each latent is used shows in its KL term, $\mathrm{KL}(q(z_k \mid x) \,\|\, \mathrm{Uniform}(10))$ averaged
over the test set, which can never exceed $\log 10 \approx 2.30$ nats (the KL of a point mass to the
uniform distribution):
"""),
    code("""
kl_per_latent = torch.tensor(history[-1]["test_kl_per_dim"])  # (K,), nats, MNIST test set
order = kl_per_latent.argsort(descending=True)
print("KL per latent, largest first (nats):", [f"{k}: {kl_per_latent[k]:.2f}" for k in order.tolist()])
assert kl_per_latent.max() <= torch.log(torch.tensor(10.0)) and kl_per_latent.min() >= 0
assert abs(kl_per_latent.sum() - history[-1]["test_kl"]) < 1e-3
"""),
    md(r"""
Take the mode of $q(z \mid x)$ for five test images, set one latent to each of its 10 classes in turn and
decode (red frame: the class the encoder chose). Some latents switch the digit's identity, others move
its slant or thickness; the slider runs over the 20 latents and starts at the one with the largest KL.
"""),
    code("""
explore(lambda latent: gumbel.vary_latent(model, x_test[:5], latent), latent=list(range(c.num_latents)),
        initial={"latent": int(order[0])}, dpi=60, title="one categorical latent set to each of its classes")
"""),
    md(r"""
## Retraining

The shipped model comes from one command (also stored in the checkpoint); `bash
scripts/train_pretrained_discrete.sh cat_gumbel_vae` runs it (`TIME_LIMIT=300` to train for the same
time, `EPOCHS=N` for a fixed number of epochs).
"""),
    code("""
print(ckpt.metrics["test"]["command"])
"""),
]


if __name__ == "__main__":
    print(write(NAME, cells))
