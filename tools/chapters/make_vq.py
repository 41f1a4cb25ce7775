"""Writes book/vq_vae.ipynb (notes 2.4; van den Oord et al. 2017): ``python tools/chapters/make_vq.py``.

The chapter is committed without outputs; edit this script and rerun it rather
than editing the notebook by hand.
"""
from common import INSTALL, code, md, write

NAME = "vq_vae"

cells = [
    md(r"""
# VQ-VAE: a learned, quantized latent space

The discrete VAEs of the previous chapters fix the latent space in advance: binary vectors, or
one-hot vectors, and learn only which of them to use. A **vector-quantized VAE** (VQ-VAE, van den
Oord et al. 2017; section 2.4 of the notes) learns the latent space itself. It is a finite set of
$K$ vectors, the **codebook** $\{e_1, \dots, e_K\} \subset \mathbb R^C$, and the encoder's output
$E_\phi(x) \in \mathbb R^C$ is replaced by its nearest codebook vector:

$$
z = \arg\min_{k} \lVert E_\phi(x) - e_k \rVert_2, \qquad z_q = e_z .
$$

No sampling happens: the same $x$ always gives the same code. The model here is convolutional: the
encoder maps a $28 \times 28$ digit to a $7 \times 7$ grid of $C = 16$-dimensional vectors, each
quantized separately, so an image becomes $L = 49$ code indices from a codebook of $K = 64$, and the
decoder maps the $7 \times 7$ grid of code vectors back to $784$ Bernoulli pixel probabilities.

This chapter goes through the notes' formulas one at a time and checks each on the trained models
shipped with the package: the KL term, the straight-through gradient, the three-part loss, the
commitment weight $\beta$ (with a slider over trained models), the exponential-moving-average (EMA)
codebook and its decay $\gamma$ (another slider), codebook usage over training, and finally what
the uniform prior of the notes costs, by fitting two learned priors over the codes.
"""),
    code(INSTALL),
    code("""
import math
import time

import torch
from vaebook import pretrained, vq
from vaebook.data import BinarizedMNIST
from vaebook.evaluation import evaluate
from vaebook.plots import vq as vqplots
from vaebook.widgets import explore

torch.manual_seed(0)
test = BinarizedMNIST.load("test", "dynamic", seed=0, limit=2000)
x = test.fixed()  # the first 2,000 MNIST test images, binarized once (seed 0)
ckpt = pretrained.load("vq_ema")  # the paper's settings: beta = 0.25, EMA decay 0.99
model = ckpt.model
print(ckpt.model_config)
"""),
    md(r"""
`vq_ema` uses the paper's settings ($\beta = 0.25$, EMA decay $\gamma = 0.99$, no extra tricks).
Like every VQ-VAE shipped with the package it was trained for a fixed wall-clock budget of 75 s on
a GPU shared with other trainings (Adam $10^{-3}$ with a cosine schedule, batch 100, dynamic
binarization of the 60,000 training images).

## Quantization

The encoder gives one 16-dimensional vector per cell of a $7 \times 7$ grid (each cell sees a
patch of the image). Each is replaced by the index of its nearest codebook vector; `vq.nearest_code`
computes the squared distances $\lVert E(x)_l \rVert^2 - 2 E(x)_l^\top e_k + \lVert e_k \rVert^2$ in one
matrix product, which we check against brute force (`torch.cdist`).
"""),
    code("""
z_e = model.encode_continuous(x[:1]).detach()  # E(x): (B, L, C) = (1, 49, 16)
codes = vq.nearest_code(z_e, model.codebook)  # (1, 49) indices in [0, 64)
assert torch.equal(codes[0], torch.cdist(z_e[0], model.codebook).argmin(-1))
print(f"E(x): {tuple(z_e.shape)}, codebook: {tuple(model.codebook.shape)}, codes: {tuple(codes.shape)}")
vqplots.code_grid(x[0], codes[0]);
"""),
    md(r"""
Background cells share a few codes; the cells the stroke passes through get others. A digit is
now a $7 \times 7$ "image" of 49 symbols from an alphabet of 64: at most $49 \log_2 64 = 294$ bits.

## $q(z \mid x)$ is a point mass, and the KL term is a constant

Because the encoder is deterministic, the notes write the posterior as a point mass on the nearest
code, and take the prior uniform over the codes:

$$
q_\phi(z \mid x) = \begin{cases} 1 & z = \arg\min_k \lVert E_\phi(x) - e_k\rVert \\ 0 & \text{otherwise,}\end{cases}
\qquad p(z) = \tfrac{1}{K} .
$$

Then $D_{KL}(q \,\|\, p) = \sum_z q(z \mid x) \log \frac{q(z \mid x)}{p(z)} = 1 \cdot \log \frac{1}{1/K} = \log K$.
With $L$ independent positions (the prior uniform at each) it is $L \log K = 49 \log 64 \approx 203.8$
nats, the same for every image, so it does not affect training and the notes drop it from the loss.
It does belong in the ELBO, though. In the package $q(z \mid x)$ is a `PointMass` distribution
and $p(z)$ a uniform categorical at each position; their log-densities give the KL directly:
"""),
    code("""
qz, pz = model.encode(x[:4]), model.prior()  # PointMass over (L,) grids; uniform over K at each position
z = qz.sample()
kl = qz.log_prob(z) - pz.log_prob(z)  # log 1 - log K^-L
L, K = model.num_positions, model.config.codebook_size
print(f"log q(z|x) = {qz.log_prob(z).tolist()}; log q - log p = {[round(v, 4) for v in kl.tolist()]} nats; "
      f"L log K = 49 log 64 = {L * math.log(K):.4f}")
assert torch.allclose(kl, torch.tensor(L * math.log(K)))
"""),
    md(r"""
The model's own `kl` metric (the one recorded in its training history) and the package's evaluation
(`vaebook.evaluation.evaluate`, which estimates the KL from the log-densities when no closed form is
registered) must give the same constant, and the re-evaluated test $-$ELBO must agree with the one recorded
in the checkpoint. Quantization is deterministic, but the checkpoint's number was computed on the training
GPU, whose random-number generator binarizes the test images differently from the CPU's with the same
seed; so the two agree within a standard error, not to the last digit:
"""),
    code("""
with torch.no_grad():
    out = model.objective(x)  # eval mode: no EMA update
first_1000 = BinarizedMNIST.load("test", "dynamic", seed=0, limit=1000)
check = evaluate(model, first_1000, iw_samples=1)
recorded = ckpt.metrics["check"]["neg_elbo"]
print(f"kl metric: {out['kl'].min():.4f} .. {out['kl'].max():.4f} nats; L log K = {L * math.log(K):.4f}")
print(f"test -ELBO, first 1,000 MNIST test images (binarized once, seed 0): {check['neg_elbo']:.2f} "
      f"+- {check['neg_elbo_se']:.2f} = reconstruction {check['neg_elbo'] - L * math.log(K):.2f} + KL "
      f"{L * math.log(K):.2f}; recorded in the checkpoint: {recorded:.2f}")
assert torch.allclose(out["kl"], torch.tensor(L * math.log(K)))
assert abs(check["neg_elbo"] - recorded) < 2 * check["neg_elbo_se"]
"""),
    md(r"""
So the VQ-VAE's bound on $-\log p(x)$ is about 240 nats per MNIST test image, far looser than the
VAEs of earlier chapters (around 90-120). Nearly all of it is the constant $L \log K$: the reconstruction
term alone is about 37 nats. The uniform prior pays $\log 64$ for every position, including the
background cells, which almost always take the same code. The last section fits learned priors and
shows how much of the 204 nats that recovers.

## The straight-through gradient

$\arg\min$ is piecewise constant, so $\partial z_q / \partial E(x) = 0$ almost everywhere and no gradient
would reach the encoder (the problem of section 2 of the notes). The VQ-VAE uses the straight-through
idea of section 2.1: the forward pass uses $z_q$, the backward pass copies the gradient with respect to
$z_q$ onto $E(x)$ unchanged. One line of autograd does it,
$\tilde z = E(x) + \mathrm{sg}[z_q - E(x)]$ (`vq.straight_through`; `sg` = `detach`, the stop-gradient):
its value is $z_q$ and its derivative with respect to $E(x)$ is the identity.
"""),
    code("""
z_e = model.encode_continuous(x[:8]).detach().requires_grad_(True)
z_q = model.codebook[vq.nearest_code(z_e, model.codebook)].requires_grad_(True)
z_st = vq.straight_through(z_e, z_q)  # forward: z_q
(-model.decode_vectors(z_st).log_prob(x[:8]).sum()).backward()
(direct,) = torch.autograd.grad(-model.decode_vectors(z_q).log_prob(x[:8]).sum(), z_q)
print(f"max |z_st - z_q| = {(z_st - z_q).abs().max():.1e};  max |dloss/dE(x) - dloss/dz_q| = "
      f"{(z_e.grad - direct).abs().max():.1e};  gradient reaching z_q through z_st: {z_q.grad}")
assert torch.allclose(z_st, z_q, atol=1e-6) and torch.allclose(z_e.grad, direct, atol=1e-5) and z_q.grad is None
"""),
    md(r"""
The decoder sees the code vectors, the encoder receives the decoder's gradient as if it had produced
them, and the codebook receives **nothing** from the reconstruction term. Two more terms are needed.

## The three-part loss

For one image (the squared norms summed over the $L$ positions and $C$ dimensions), the notes' eq. (7):

$$
\mathcal L(x) = \underbrace{-\log p_\theta(x \mid z_q)}_{\text{reconstruction}}
 + \underbrace{\lVert \mathrm{sg}[E_\phi(x)] - e \rVert_2^2}_{\text{codebook}}
 + \beta \underbrace{\lVert E_\phi(x) - \mathrm{sg}[e] \rVert_2^2}_{\text{commitment}},
\qquad \beta = 0.25 \text{ in the paper.}
$$

The codebook and commitment terms have the **same value**; they differ only in where the stop-gradient
sits, hence in what they move: the codebook term pulls the chosen codes $e$ towards the encoder
outputs, the commitment term pulls the encoder outputs towards their codes. On `vq_codebook_loss`
(a model whose codebook is a trained parameter, no EMA) we take the gradient of each term with respect
to each part of the network:
"""),
    code("""
cl = pretrained.load("vq_codebook_loss").model
terms, _, _ = cl.losses(x[:100])  # VQLoss(reconstruction, codebook, commitment), each (B,)
parts = {"encoder": list(cl.encoder.parameters()), "codebook": [cl.codebook], "decoder": list(cl.decoder.parameters())}
def grad_norm(term, params):
    grads = torch.autograd.grad(term.mean(), params, retain_graph=True, allow_unused=True)
    return sum(float(g.norm() ** 2) for g in grads if g is not None) ** 0.5
flow = {t: {p: grad_norm(getattr(terms, t), ps) for p, ps in parts.items()} for t in terms._fields}
print("term (mean over 100 test images)     value   |grad| encoder  codebook   decoder")
for t in terms._fields:
    print(f"{t:34s} {getattr(terms, t).mean():7.2f}  " + "  ".join(f"{flow[t][p]:9.3g}" for p in parts))
"""),
    code("""
assert torch.allclose(terms.codebook, terms.commitment)  # same value, different gradients
assert flow["reconstruction"]["codebook"] == 0 and flow["reconstruction"]["encoder"] > 0
assert flow["codebook"]["encoder"] == 0 and flow["codebook"]["decoder"] == 0 and flow["codebook"]["codebook"] > 0
assert flow["commitment"]["codebook"] == 0 and flow["commitment"]["decoder"] == 0 and flow["commitment"]["encoder"] > 0
print("loss without EMA = reconstruction + codebook + beta * commitment:",
      round(terms.total(0.25, ema=False).mean().item(), 2), "nats (beta = 0.25)")
"""),
    md(r"""
Each term reaches exactly one part besides the decoder: the reconstruction trains the decoder and
(straight through) the encoder, the codebook term only the codebook, the commitment term only the encoder.

### What the commitment weight $\beta$ does

Without the commitment term ($\beta = 0$) nothing ties the encoder's outputs to the codebook. The
reconstruction gradient moves them freely and the codes chase them (here with the EMA update below);
nothing stops the encoder outputs from growing, and a code that is left behind is never chosen again.
The slider moves over three models trained identically except for $\beta$ (`vq_beta_0`, `vq_ema`
with the paper's 0.25, `vq_beta_2`). Each frame shows reconstructions of 8 test digits, how often
each code is chosen on the first 2,000 test images (dead codes in red), the mean encoder-output norm
$\lVert E(x)_l \rVert$ per epoch (log scale) and the final losses from the training history.
"""),
    code("""
VQ_MODELS = ["vq_ema", "vq_beta_0", "vq_beta_2", "vq_gamma_0.9", "vq_gamma_0.999", "vq_codebook_loss", "vq_ema_restart"]
vqs = {name: pretrained.load(name) for name in VQ_MODELS}
stats = {name: vq.codebook_stats(c.model, x) for name, c in vqs.items()}  # code counts on 2,000 test images
BETA_MODELS = {0.0: "vq_beta_0", 0.25: "vq_ema", 2.0: "vq_beta_2"}
explore(lambda beta: vqplots.checkpoint_panel(
            vqs[BETA_MODELS[beta]], x, stats[BETA_MODELS[beta]], f"commitment beta = {beta:g} ({BETA_MODELS[beta]})",
            "test_encoder_norm", "mean ||E(x)_l|| per epoch (test)", log=True),
        beta=list(BETA_MODELS), initial={"beta": 0.25}, dpi=65, title="VQ-VAE commitment weight beta")
"""),
    code("""
for b, name in BETA_MODELS.items():
    last, s = vqs[name].history[-1], stats[name]
    print(f"beta = {b:4g}: ||E(x)|| = {last['test_encoder_norm']:8.1f}, codes used {s['usage']:5.0%}, "
          f"dead codes {s['unused_codes']:2d}, test -log p(x|z_q) = {-last['test_log_px_given_z']:6.2f} nats")
assert vqs["vq_beta_0"].history[-1]["test_encoder_norm"] > 100 * vqs["vq_ema"].history[-1]["test_encoder_norm"]
assert stats["vq_beta_0"]["unused_codes"] > 20 and stats["vq_ema"]["unused_codes"] <= 3
"""),
    md(r"""
With $\beta = 0$ the encoder outputs grow to a norm of about 3,000 (against about 4 with the paper's
0.25), the codebook and commitment terms reach $10^7$ to $10^8$ (huge distances between $E(x)$ and its
code), more than half of the codes are dead and the reconstruction is twice as bad. The
paper reports results robust for $\beta$ from 0.1 to 2.0; $\beta = 2$ here is as good as 0.25, with the
encoder outputs held closer to the codes (a smaller norm and commitment loss).

## The EMA codebook

Instead of the codebook loss, the paper's appendix (and the notes' eq. 8) moves each code to a running
average of the encoder outputs assigned to it. With $n_i$ the number of encoder outputs $E(x)_j$ in the
minibatch whose nearest code is $e_i$, and a decay $\gamma \in (0, 1)$ ($0.99$ in the paper):

$$
N_i \leftarrow \gamma N_i + (1 - \gamma)\, n_i, \qquad
m_i \leftarrow \gamma\, m_i + (1 - \gamma) \sum_{j:\, z_j = i} E(x)_j, \qquad
e_i = \frac{m_i}{N_i} .
$$

$N_i$ and $m_i$ are exponential moving averages of the count and of the sum of the assigned vectors,
so $e_i$ is (approximately) the mean of the vectors assigned to code $i$ over the last $1/(1-\gamma)$
batches: one step of online $k$-means. The codebook gets no gradient, and the loss keeps only the
reconstruction and the commitment term.

**The division needs care.** A code that no vector has chosen yet, in an implementation that starts
$N_i$ and $m_i$ at zero, has $e_i = 0/0$. A code that stops being chosen has $n_i = 0$ at every step, so
$N_i$ and $m_i$ both decay like $\gamma^t$; in exact arithmetic their ratio stays put, but in floating point
both sink into the denormal range (below $10^{-38}$ in float32) where they are rounding residues, and
their ratio is meaningless. The package (`vq.ema_update`, following DeepMind's Sonnet implementation)
divides by Laplace-smoothed counts instead,

$$
\tilde N_i = \frac{N_i + \epsilon}{n + K \epsilon}\, n, \qquad n = \sum_{k} N_k, \qquad
e_i = \frac{m_i}{\tilde N_i}, \qquad \epsilon = 10^{-5},
$$

which keeps the total count $\sum_i \tilde N_i = n$ and is never zero. We check both cases on a codebook of
4 codes in 2-D in which code 0 is never chosen: (a) one step from $N = m = 0$; (b) 1,200 steps with
$\gamma = 0.9$ from $N_i = 1$, $m_i = e_i$ (the package's start), long enough for $0.9^t$ to fall below
float32's smallest number ($0.9^{1200} \approx 10^{-55}$):
"""),
    code("""
torch.manual_seed(1)
n_a, m_a = torch.zeros(4), torch.zeros(4, 2)  # (a) counts and sums started at zero
smoothed_a = vq.ema_update(n_a, m_a, torch.randn(8, 2), torch.randint(1, 4, (8,)), gamma=0.9)
e_start = torch.randn(4, 2)
n_b, m_b = torch.ones(4), e_start.clone()  # (b) the package's start: N_i = 1, m_i = e_i
for step in range(1200):
    smoothed_b = vq.ema_update(n_b, m_b, torch.randn(8, 2), torch.randint(1, 4, (8,)), gamma=0.9)
print(f"(a) m_0 / N_0 = {(m_a[0] / n_a[0]).tolist()}; smoothed e_0 = {smoothed_a[0].tolist()}")
print(f"(b) N_0 = {n_b[0].item():.2g}, m_0 = {m_b[0].tolist()}: m_0 / N_0 = {(m_b[0] / n_b[0]).tolist()} "
      f"(exact arithmetic: the start {e_start[0].tolist()}); smoothed e_0 = {smoothed_b[0].tolist()}")
assert torch.isnan(m_a[0] / n_a[0]).all() and torch.isfinite(smoothed_a).all() and torch.isfinite(smoothed_b).all()
assert not torch.allclose(m_b[0] / n_b[0], e_start[0], rtol=0.1) and smoothed_b[0].abs().max() < 1e-30
"""),
    md(r"""
Unsmoothed, case (a) gives NaN, which would then poison every distance computed against the codebook,
and case (b) gives a ratio of two rounding residues instead of the code's last position. Smoothed, a
never-chosen code gets $m_0 / \tilde N_0 \to 0$: it drifts to the origin and stays finite (and, dead, it
matters only through the distances, which are now well defined).

### The decay $\gamma$

$\gamma$ sets the memory: the codes average over about $1/(1-\gamma)$ batches (10 for $\gamma = 0.9$, 1,000
for $0.999$). A short memory makes codes noisy; a long one makes them lag behind an encoder whose
outputs are still moving. A toy shows the trade-off without any network: "encoder outputs" from 8
clusters on a circle that widens and turns during 600 steps (as an encoder's outputs move early in
training), quantized with 8 codes that start, as in the model, uniformly in $[-1/K, 1/K]^2$, and updated
by `vq.ema_kmeans` (nearest code + `vq.ema_update`, nothing else).
"""),
    code("""
points, centres = vq.moving_clusters(steps=600, batch_size=64, num_clusters=8, seed=0)
start = torch.empty(8, 2).uniform_(-1 / 8, 1 / 8, generator=torch.Generator().manual_seed(1))
GAMMAS = [0.5, 0.9, 0.99, 0.999]
toy = {g: vq.ema_kmeans(points, start, g) for g in GAMMAS}
explore(lambda gamma: vqplots.ema_toy(points[-1], toy[gamma], centres[-1], gamma), gamma=GAMMAS,
        initial={"gamma": 0.99}, dpi=60, title="EMA k-means on moving 2-D clusters")
"""),
    code("""
for g, out in toy.items():
    print(f"gamma = {g:5g}: codes used in the last batch {int((out['counts'] > 0).sum())} of 8, "
          f"quantization error over the last 100 steps {out['distortion'][-100:].mean():.3f} "
          f"(noise floor 2 x 0.15^2 = 0.045)")
err = {g: out["distortion"][-100:].mean().item() for g, out in toy.items()}
assert err[0.9] < err[0.99] < err[0.999] and (toy[0.999]["counts"] == 0).sum() > (toy[0.5]["counts"] == 0).sum()
"""),
    md(r"""
With $\gamma = 0.999$ the codes remember where the clusters were hundreds of steps ago: they trail behind,
half of them never catch a cluster and die, and the quantization error is the largest (about 2, against
0.4-0.8 for the others and a noise floor of 0.045). With $\gamma = 0.5$ every code follows a cluster.
(With 8 codes for 8 clusters, each dead code leaves another code to serve two clusters, hence the errors
well above the floor for the middle values.) The same trade-off on MNIST, over three
VQ-VAEs that differ only in $\gamma$ (`vq_gamma_0.9`, `vq_ema` with 0.99, `vq_gamma_0.999`); the
curve now is the test perplexity per epoch:
"""),
    code("""
GAMMA_MODELS = {0.9: "vq_gamma_0.9", 0.99: "vq_ema", 0.999: "vq_gamma_0.999"}
explore(lambda gamma: vqplots.checkpoint_panel(
            vqs[GAMMA_MODELS[gamma]], x, stats[GAMMA_MODELS[gamma]], f"EMA decay gamma = {gamma:g} ({GAMMA_MODELS[gamma]})",
            "test_perplexity", "test perplexity per epoch", log=False),
        gamma=list(GAMMA_MODELS), initial={"gamma": 0.99}, dpi=65, title="VQ-VAE EMA decay gamma")
"""),
    code("""
for g, name in GAMMA_MODELS.items():
    s, history = stats[name], vqs[name].history
    print(f"gamma = {g:5g}: codes used {s['usage']:5.0%}, perplexity {s['perplexity']:5.1f}, "
          f"test -log p(x|z_q) = {-history[-1]['test_log_px_given_z']:6.2f} nats after {len(history)} epochs")
assert stats["vq_gamma_0.999"]["usage"] < 0.75 < stats["vq_ema"]["usage"]
"""),
    md(r"""
$\gamma = 0.999$ leaves about 40 % of the codes dead and reconstructs worst. $\gamma = 0.9$ reconstructs
best here, but it also ran 13 epochs in its 75 s against 7 for the others (the machine was shared, so
epochs per second varied between runs); the paper's $0.99$ uses every code.

## Codebook usage over training

Dead codes are the VQ-VAE's best-known failure: a code that is far from every encoder output is never
chosen, gets no update (neither from the EMA nor from the codebook loss) and stays dead. Two
numbers describe usage: the **share of codes used** at least once, and the **perplexity**
$\exp\left(-\sum_k \hat p_k \log \hat p_k\right)$ of the code frequencies $\hat p_k$, which is $K$ when all
codes are used equally and 1 when one code takes everything. The histories record both on the test set at
every epoch (per batch of 1,000 test images, averaged over the 10 batches) for three ways of training the
codebook: the EMA update (`vq_ema`), the codebook loss (`vq_codebook_loss`), and the EMA update plus two
tricks that are not in the paper (`vq_ema_restart`: the codebook starts at encoder outputs of the first
batch, and a code whose running usage falls below one vector per batch is moved onto a random encoder
output, as Dhariwal et al. 2020 do).
"""),
    code("""
TRAININGS = {"EMA (paper)": "vq_ema", "codebook loss": "vq_codebook_loss", "EMA + data init + restarts": "vq_ema_restart"}
vqplots.codebook_over_training({label: vqs[name].history for label, name in TRAININGS.items()});
"""),
    md(r"""
The histories are batch averages; `vq.codebook_stats` recounts on the first 2,000 test images in one
count over the whole set. The two should agree roughly (a count over 2,000 images can only find more
codes than one over 1,000), and the paper-setting model should use at least 95 % of its codes:
"""),
    code("""
print("model                        codes used: recount / history   perplexity: recount / history   dead codes")
for label, name in TRAININGS.items():
    s, last = stats[name], vqs[name].history[-1]
    print(f"{label:30s} {s['usage']:12.1%} / {last['test_usage']:6.1%}   {s['perplexity']:15.1f} / "
          f"{last['test_perplexity']:5.1f}   {s['unused_codes']:10d}")
    assert abs(s["usage"] - last["test_usage"]) < 0.1 and abs(s["perplexity"] / last["test_perplexity"] - 1) < 0.15
assert stats["vq_ema"]["usage"] >= 0.95, "the paper-setting VQ-VAE should use at least 95 % of its codes"
"""),
    md(r"""
The EMA update uses all 64 codes; the codebook loss leaves a third of them dead (a code moves only through
the gradient of the codebook term, which a code that no encoder output chooses never receives). Restarts keep every code alive and spread the use more evenly (perplexity
about 42 of 64, against about 21 for plain EMA), though at this short training time that does not yet buy a
better reconstruction.

## Reconstructions

The decoder's pixel probabilities $\mathbb E[x \mid z_q]$ for test digits, from the 49 codes alone:
"""),
    code("""
with torch.no_grad():
    recon = model.decode(model.codes(x[:12])).mean
vqplots.sample_rows({"test input x": x[:12], "reconstruction E[x | z_q] (vq_ema)": recon});
"""),
    md(r"""
## Samples from the uniform prior

The notes' generative model is $z \sim p(z)$ uniform, $x \sim p_\theta(x \mid z)$. Drawing each of the 49
codes uniformly from the 64 gives:
"""),
    code("""
torch.manual_seed(2)
vqplots.sample_rows({"z ~ uniform prior (each of the 49 codes uniform over 64)": model.sample(12)});
"""),
    md(r"""
Noise. The decoder was only ever trained on code grids that encoders produce: a background code in the
border cells, stroke codes arranged along a pen path. Under the uniform prior almost all of the $64^{49}$
grids are unlike any of those; the uniform prior is a valid prior (the ELBO above is a true bound) but a
terrible generative model. This is why van den Oord et al. fit an **autoregressive prior** (a PixelCNN)
over the codes after training the VQ-VAE, and sample from it instead. Two learned priors, cheap enough for
a CPU, both fitted to the codes of 10,000 training images:

* **per position** (`vq.fit_code_prior`, or `vq.code_prior_from_codes` for codes already encoded): each position has its own categorical distribution over the codes,
  fitted by counting (one pseudocount added), positions independent;
* **autoregressive** (`vq.AutoregressiveCodePrior`): $p(z) = \prod_{l} p(z_l \mid z_{<l})$ in raster order,
  each conditional given by a tiny causal convolutional network (2 layers of width 32 and kernel 8, so each
  position sees the 14 positions before it, two rows of the grid), trained here by maximum likelihood for
  120 steps.

Since $q(z \mid x)$ is a point mass, any prior $p$ gives the bound
$-\log p(x) \le -\log p_\theta(x \mid z_q) - \log p(z_q)$: the KL term becomes $-\log p(z_q)$, which is
$L \log K$ only for the uniform prior.
"""),
    code("""
train_x = BinarizedMNIST.load("train", "dynamic", seed=0, limit=10_000).fixed()
train_codes = vq.encode_codes(model, train_x)  # (10000, 49)
per_position = vq.code_prior_from_codes(train_codes, K)  # (L, K) log-probabilities, fitted by counting
counts = torch.nn.functional.one_hot(train_codes, K).sum(0) + 1.0
assert torch.allclose(per_position, torch.log(counts / counts.sum(1, keepdim=True)))
start = time.perf_counter()
ar_prior, losses = vq.fit_autoregressive_prior(train_codes, K, steps=120, batch_size=200, lr=1e-2, seed=0)
print(f"autoregressive prior: 120 Adam steps of 200 code grids in {time.perf_counter() - start:.1f} s; "
      f"training -log p(z): {losses[0]:.1f} -> {sum(losses[-10:]) / 10:.1f} nats")
"""),
    code("""
priors = {"uniform (notes)": model.prior(), "per position": vq.per_position_prior(per_position),
          "autoregressive": ar_prior}
bounds = {name: vq.neg_elbo_under_prior(model, x, p) for name, p in priors.items()}
print("prior              -log p(x|z_q)   KL = -log p(z_q)   -ELBO (nats; first 2,000 MNIST test images, +- SE)")
for name, b in bounds.items():
    se = b["neg_elbo"].std().item() / len(x) ** 0.5
    print(f"{name:18s} {b['reconstruction'].mean():13.2f}   {b['kl'].mean():16.2f}   {b['neg_elbo'].mean():7.2f} +- {se:.2f}")
"""),
    code("""
assert torch.allclose(bounds["uniform (notes)"]["kl"], torch.tensor(L * math.log(K)))
assert torch.equal(bounds["autoregressive"]["reconstruction"], bounds["uniform (notes)"]["reconstruction"])
kl = {name: b["kl"].mean().item() for name, b in bounds.items()}
assert kl["autoregressive"] < kl["per position"] < kl["uniform (notes)"] - 50
"""),
    md(r"""
The reconstruction term does not depend on the prior; the KL term does, a lot. Counting per position
already saves about 80 nats (the border cells are nearly always the same code), and conditioning on the
previous codes saves about 20-30 more, with a network trained for seconds. The bound is still looser than
the continuous and binary VAEs' (the autoregressive prior here is tiny and undertrained; the paper's
PixelCNN is much larger), but the point stands: the $L \log K$ of the notes is a property of the
uniform prior, not of vector quantization. Samples, decoded as pixel probabilities:
"""),
    code("""
torch.manual_seed(3)
with torch.no_grad():
    rows = {"z ~ uniform prior": model.sample(12),
            "z ~ per-position categorical": model.sample(12, logits=per_position),
            "z ~ autoregressive prior": model.decode(ar_prior.sample((12,))).mean}
vqplots.sample_rows(rows);
"""),
    md(r"""
The per-position prior gets the background right but draws the stroke codes independently, so strokes
break apart; the autoregressive prior, which sees the codes above and to the left, draws connected
strokes, some of them digit-like.

## Summary

| | MNIST test (first 1,000 or 2,000 images, binarized once, seed 0), nats per image |
|---|---|
| `vq_ema` (paper settings), test $-$ELBO, uniform prior | about 240 = reconstruction about 37 + $L \log K$ = 203.8 (recorded on all 10,000: 241.6) |
| same model, per-position prior | about 160 |
| same model, autoregressive prior (trained in seconds) | about 135 |

* The numbers are $-$ELBO in nats per binarized MNIST image with a Bernoulli decoder. The paper's VQ-VAE
  numbers are for CIFAR-10 in **bits per dimension** (4.67, against 4.51 for a continuous VAE), with $K =
  512$, a continuous (discretized logistic) decoder and a PixelCNN prior: not comparable with these.
* What matters for a VQ-VAE that works: $\beta$ away from 0 (0.25 to 2 are fine), an EMA decay that lets the
  codebook follow the encoder (0.99), and watching codebook usage (dead codes); restarts keep every code
  alive.

Retrain any of the models (on a GPU in about a minute and a half each):
`bash scripts/train_pretrained_discrete.sh vq_ema` (or `vq_ema_restart`, `vq_codebook_loss`, `vq_beta_0`,
`vq_beta_2`, `vq_gamma_0.9`, `vq_gamma_0.999`; `TIME_LIMIT=75` gives the shipped budget, the exact
command is in each checkpoint's `metrics["test"]["command"]`).
"""),
]

if __name__ == "__main__":
    print(write(NAME, cells))
