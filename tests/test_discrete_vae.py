"""The binary and categorical VAEs (vaebook.discrete_vae): objectives recomputed by
hand, gradients of the naive and score-function estimators, checkpoints, and the
evaluation numbers against log p(x) and the ELBO enumerated over every z of a small
model."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import distributions as D

from vaebook import pretrained
from vaebook.checkpoints import load_checkpoint, save_checkpoint
from vaebook.data import BinarizedMNIST
from vaebook.discrete import CATEGORICAL_ESTIMATORS, ESTIMATORS
from vaebook.discrete_vae import (
    BinaryVAEConfig,
    CategoricalVAEConfig,
)
from vaebook.evaluation import evaluate
from vaebook.experiments.enumeration import enumerate_states
from vaebook.training import TrainConfig, TrainState, fit

F64 = torch.float64


def state(beta=1.0):
    return TrainState(TrainConfig(beta=beta, device="cpu"))


def binary(**kw):
    kw = {"hidden": (16,), "latent_dim": 5, **kw}
    return BinaryVAEConfig(**kw).build()


def categorical(**kw):
    kw = {"hidden": (16,), "num_latents": 3, "num_classes": 4, **kw}
    return CategoricalVAEConfig(**kw).build()


@pytest.fixture(scope="module")
def x():
    return BinarizedMNIST.load("train", limit=32).fixed()


def hand_kl(logits, categorical_latents):
    """KL against the uniform prior: sum p log 2p + (1-p) log 2(1-p), or sum q log(C
    q)."""
    if categorical_latents:
        q = torch.softmax(logits, -1)
        return (q * torch.log(logits.shape[-1] * q)).sum((-2, -1))
    p = torch.sigmoid(logits)
    return (p * torch.log(2 * p) + (1 - p) * torch.log(2 * (1 - p))).sum(-1)


def hand_log_px(decoder_logits, x):
    return -F.binary_cross_entropy_with_logits(
        decoder_logits, x.expand_as(decoder_logits), reduction="none"
    ).sum(-1)


# --- configs --------------------------------------------------------------------------


def test_configs_reject_bad_values():
    with pytest.raises(ValueError, match="estimator must be one of.*straight-through"):
        BinaryVAEConfig(estimator="gumbel")
    with pytest.raises(ValueError, match="estimator must be one of.*gumbel-softmax"):
        CategoricalVAEConfig(estimator="smoothing-f1")  # a Bernoulli-only estimator
    for decay in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"baseline_decay must be in \[0, 1\)"):
            BinaryVAEConfig(baseline_decay=decay)
        with pytest.raises(ValueError, match=r"baseline_decay must be in \[0, 1\)"):
            CategoricalVAEConfig(baseline_decay=decay)
    with pytest.raises(ValueError):
        CategoricalVAEConfig(num_classes=1)
    with pytest.raises(ValueError):
        BinaryVAEConfig(latent_dim=0)
    for name in ESTIMATORS:  # every registered estimator is accepted by name
        assert (
            BinaryVAEConfig(hidden=(8,), latent_dim=2, estimator=name)
            .build()
            .estimator_type
            is ESTIMATORS[name]
        )
    for name in CATEGORICAL_ESTIMATORS:
        assert (
            CategoricalVAEConfig(hidden=(8,), estimator=name).build().estimator_type
            is CATEGORICAL_ESTIMATORS[name]
        )


# --- the objective by hand ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "categorical"])
@pytest.mark.parametrize("estimator", ["straight-through", "gumbel-softmax"])
def test_eval_objective_by_hand(kind, estimator, x):
    torch.manual_seed(0)
    model = (
        (binary if kind == "binary" else categorical)(estimator=estimator)
        .double()
        .eval()
    )
    xd = x.double()
    torch.manual_seed(1)
    out = model.objective(xd, state())
    torch.manual_seed(1)
    with torch.no_grad():
        logits = model.encoder_logits(xd)
        if kind == "binary":
            z = torch.bernoulli(torch.sigmoid(logits))  # what D.Bernoulli.sample draws
            flat = z
        else:
            z = D.OneHotCategorical(logits=logits).sample()
            flat = z.flatten(-2)
            assert torch.all(z.sum(-1) == 1)
        log_px = hand_log_px(model.decoder(flat), xd)
        kl = hand_kl(logits, kind == "categorical")
    # (the prior is built in float32 whatever the model dtype: KL good to ~1e-7
    # relative)
    torch.testing.assert_close(out["kl"], kl, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(out["log_px_given_z"], log_px, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(out["neg_elbo"], -(log_px - kl), rtol=1e-10, atol=1e-6)
    torch.testing.assert_close(out["hard_neg_elbo"], out["neg_elbo"])
    assert out["loss"].item() == pytest.approx(
        (-(log_px - kl)).mean().item(), rel=1e-10, abs=1e-6
    )
    assert torch.all(out["kl"] >= 0)
    # the registered KL of the model's distributions is the same closed form
    torch.testing.assert_close(model.kl_per_dimension(xd).sum(-1), kl)


def test_train_objective_weights_the_kl(x):
    torch.manual_seed(2)
    model = binary(estimator="straight-through").train()
    torch.manual_seed(3)
    out0 = model.objective(x, state(beta=0.0))
    torch.manual_seed(3)
    out1 = model.objective(x, state(beta=0.25))
    torch.testing.assert_close(out0["log_px_given_z"], out1["log_px_given_z"])
    assert out0["loss"].item() == pytest.approx(
        -out0["log_px_given_z"].mean().item(), rel=1e-6
    )
    assert out1["loss"].item() == pytest.approx(
        (0.25 * out1["kl"] - out1["log_px_given_z"]).mean().item(), rel=1e-6
    )


# --- gradients ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "categorical"])
def test_naive_estimator_gives_the_encoder_no_reconstruction_gradient(kind, x):
    torch.manual_seed(4)
    model = (binary if kind == "binary" else categorical)(estimator="naive").train()
    model.objective(x, state(beta=0.0))["loss"].backward()
    for p in model.encoder.parameters():
        assert p.grad is None or torch.all(p.grad == 0)
    assert sum(p.grad.abs().sum() for p in model.decoder.parameters()) > 0
    # with beta = 1 the encoder's gradient is that of the KL alone
    model.zero_grad()
    model.objective(x, state(beta=1.0))["loss"].backward()
    got = [p.grad.clone() for p in model.encoder.parameters()]
    expected = torch.autograd.grad(
        hand_kl(model.encoder_logits(x), kind == "categorical").mean(),
        list(model.encoder.parameters()),
    )
    assert any(g.abs().sum() > 0 for g in got)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", ["binary", "categorical"])
def test_score_function_baseline_and_surrogate(kind, x):
    torch.manual_seed(5)
    decay = 0.6
    model = (
        (binary if kind == "binary" else categorical)(
            estimator="score-function", baseline_decay=decay
        )
        .double()
        .train()
    )
    xd = x.double()
    assert model.baseline.item() == 0 and not bool(model.baseline_set)
    torch.manual_seed(6)
    out = model.objective(xd, state())
    b1 = out["log_px_given_z"].mean().item()
    assert model.baseline.item() == pytest.approx(
        b1, rel=1e-12
    )  # the first batch sets b
    # the loss is -ELBO plus the REINFORCE surrogate with the baseline before the update
    # (0 here)
    torch.manual_seed(6)
    with torch.no_grad():
        logits = model.encoder_logits(xd)
        if kind == "binary":
            z = torch.bernoulli(torch.sigmoid(logits))
            log_q = -F.binary_cross_entropy_with_logits(
                logits, z, reduction="none"
            ).sum(-1)
        else:
            z = D.OneHotCategorical(logits=logits).sample()
            log_q = (z * torch.log_softmax(logits, -1)).sum((-2, -1))
    lp, kl = out["log_px_given_z"], out["kl"]
    assert out["loss"].item() == pytest.approx((-(lp - kl)).mean().item(), rel=1e-10)
    # its gradient is that of -ELBO minus REINFORCE's surrogate (f - b) log q, with the
    # baseline before the update (0 here), at the same sample
    model2 = (binary if kind == "binary" else categorical)(
        estimator="score-function", baseline_decay=decay
    ).double()
    model2.load_state_dict(
        {
            **model.state_dict(),
            "baseline": torch.zeros((), dtype=F64),
            "baseline_set": torch.tensor(False),
        }
    )
    torch.manual_seed(6)
    loss = model2.objective(xd, state())["loss"]
    got = torch.autograd.grad(loss, model2.encoder[0].weight)[0]
    logits = model2.encoder_logits(xd)
    log_q = (
        -F.binary_cross_entropy_with_logits(logits, z, reduction="none").sum(-1)
        if kind == "binary"
        else (z * torch.log_softmax(logits, -1)).sum((-2, -1))
    )
    kl_live = D.kl_divergence(model2.encode(xd), model2.prior())
    hand = (-(lp - kl_live) - lp * log_q).mean()
    expected = torch.autograd.grad(hand, model2.encoder[0].weight)[0]
    torch.testing.assert_close(got, expected, rtol=1e-8, atol=1e-10)
    # later batches: b <- decay b + (1 - decay) mean log p(x|z), moving toward the batch
    # mean
    b = b1
    for _ in range(3):
        out = model.objective(xd, state())
        m = out["log_px_given_z"].mean().item()
        before = abs(b - m)
        b = decay * b + (1 - decay) * m
        assert model.baseline.item() == pytest.approx(b, rel=1e-12)
        assert abs(model.baseline.item() - m) <= before
    # eval mode leaves the baseline alone
    model.eval()
    model.objective(xd, state())
    assert model.baseline.item() == pytest.approx(b, rel=1e-12)


def _three_latent_model(estimator: str, **kw):
    torch.manual_seed(7)
    model = binary(
        estimator=estimator, latent_dim=3, hidden=(8,), data_dim=12, **kw
    ).double()
    xd = torch.tensor([[1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1]], dtype=F64)
    return model.train(), xd


def _mean_gradient(model, xd, repeats=40, batch=5000, beta=0.0):
    """40 independent batch means of the loss's gradient in the encoder's last bias:
    (mean, standard error)."""
    bias, grads = model.encoder[-1].bias, []
    for _ in range(repeats):
        model.zero_grad()
        model.objective(xd.expand(batch, -1), state(beta=beta))["loss"].backward()
        grads.append(bias.grad.clone())
    grads = torch.stack(grads)
    return grads.mean(0), grads.std(0) / len(grads) ** 0.5


def _exact_reconstruction_gradient(model, xd):
    """-d/d(bias) E_q[log p(x|z)] by enumeration of the 8 states."""
    states = enumerate_states(3).to(F64)
    logits = model.encoder_logits(xd)[0]
    with torch.no_grad():
        log_px = model.decode(states).log_prob(xd)  # (8,)
    log_q = -F.binary_cross_entropy_with_logits(
        logits.expand(8, 3), states, reduction="none"
    ).sum(-1)
    return torch.autograd.grad(-(log_q.exp() * log_px).sum(), model.encoder[-1].bias)[0]


@pytest.mark.parametrize(
    "estimator, options",
    [
        ("score-function", {}),
        ("nvil", {}),
        ("rloo", {"estimator_samples": 2}),
        ("disarm", {}),
    ],
)
def test_unbiased_estimators_encoder_gradient(estimator, options):
    """On a 3-latent model of 12 pixels, REINFORCE with its running mean, NVIL (its
    learned baseline at its initial weights, updated every step), RLOO S = 2 and
    DisARM: the mean gradient of the reconstruction term in the
    encoder's last bias matches enumeration within 4 standard errors."""
    model, xd = _three_latent_model(estimator, baseline_decay=0.0, **options)
    exact = _exact_reconstruction_gradient(model, xd)
    mean, se = _mean_gradient(model, xd)
    assert torch.all((mean - exact).abs() < 4 * se), (mean - exact) / se
    assert torch.any((mean + exact).abs() > 6 * se), "no power: a sign error would pass"


def test_vimco_gradient_is_that_of_the_multi_sample_bound():
    """VIMCO S = 3: the mean gradient of its loss in the encoder's last bias against
    -d/d(bias) E[log (1/S) sum_s w_s], enumerated over all 8^3 triples of states."""
    model, xd = _three_latent_model("vimco", estimator_samples=3)
    states = enumerate_states(3).to(F64)
    logits = model.encoder_logits(xd)[0]
    with torch.no_grad():
        log_px = model.decode(states).log_prob(xd)
    log_q = -F.binary_cross_entropy_with_logits(
        logits.expand(8, 3), states, reduction="none"
    ).sum(-1)
    log_w = log_px - 3 * math.log(2) - log_q  # (8,): prior Bernoulli(1/2)^3
    triples = torch.cartesian_prod(*[torch.arange(8)] * 3)  # (512, 3)
    bound = torch.logsumexp(log_w[triples], -1) - math.log(3)
    weight = log_q[triples].sum(-1).exp()
    exact = torch.autograd.grad(-(weight * bound).sum(), model.encoder[-1].bias)[0]
    mean, se = _mean_gradient(model, xd, beta=1.0)
    assert torch.all((mean - exact).abs() < 4 * se), (mean - exact) / se
    assert torch.any((mean + exact).abs() > 6 * se), "no power"


def test_nvil_baseline_learns_and_round_trips(x, tmp_path):
    """NVIL's baseline c + b_psi(x), fitted by its least-squares loss with the VAE held
    fixed, explains most of how E_q[log p(x|z)] varies between images; its running
    mean moves, and all of it survives a checkpoint."""
    torch.manual_seed(3)
    trained = pretrained.load("bin_straight_through").model  # images differ in f
    config = dataclasses.replace(trained.config, estimator="nvil")
    model = config.build().train()
    model.load_state_dict(trained.state_dict(), strict=False)  # all but b_psi
    with torch.no_grad():  # E_q[log p(x|z)] per image, 400 draws
        q = model.encode(x)
        mean_f = model.decode(q.sample((400,))).log_prob(x).mean(0)
    opt = torch.optim.Adam(model.baseline_net.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        model.objective(x, state())["loss"].backward()
        opt.step()  # the baseline network's weights only
    with torch.no_grad():
        fitted = model.baseline + model.baseline_net(x).squeeze(-1)
    left = (mean_f - fitted).var()
    assert left < 0.3 * mean_f.var(), (left, mean_f.var())
    assert model.baseline.item() != 0
    path = save_checkpoint(tmp_path / "nvil.pt", model, TrainConfig(device="cpu"))
    loaded = load_checkpoint(path).model
    assert loaded.baseline.item() == pytest.approx(model.baseline.item())
    with torch.no_grad():
        torch.testing.assert_close(loaded.baseline_net(x), model.baseline_net(x))


def test_estimator_samples_are_checked():
    for name in ("rloo", "vimco"):
        with pytest.raises(ValueError, match="estimator_samples.*integer >= 2, got 1"):
            BinaryVAEConfig(estimator=name, estimator_samples=1)
        with pytest.raises(ValueError, match="estimator_samples.*integer >= 2"):
            CategoricalVAEConfig(estimator=name, estimator_samples=2.5)
    BinaryVAEConfig(estimator="disarm", estimator_samples=1)  # DisARM: always a pair
    with pytest.raises(ValueError, match="estimator must be one of"):
        CategoricalVAEConfig(estimator="disarm")  # Bernoulli latents only


@pytest.mark.parametrize("name", ["nvil", "rloo", "vimco", "disarm"])
def test_unbiased_estimators_train(name, x):
    """A few steps of each: finite metrics, S decoder passes per example, and the
    history keeps the columns of the other estimators."""
    torch.manual_seed(4)
    model = binary(estimator=name, estimator_samples=3)
    history = fit(
        model,
        TrainConfig(epochs=2, batch_size=16, device="cpu", seed=0),
        x,
        x,
        progress=False,
    )
    row = history[-1]
    assert math.isfinite(row["train_neg_elbo"]) and math.isfinite(row["test_neg_elbo"])
    assert "train_temperature" in row and "train_num_samples" not in row


# --- checkpoints ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "categorical"])
def test_checkpoint_round_trip(kind, x, tmp_path):
    torch.manual_seed(8)
    model = (binary if kind == "binary" else categorical)().eval()
    model.baseline.fill_(-123.4)
    with torch.no_grad():
        logits = model.encoder_logits(x)
        z = model.encode(x).sample()
        dec = model.decode(z).base_dist.logits
    for dtype, tol in [
        ("float32", 0.0),
        ("int8", 0.02),
    ]:  # int8: about 0.3-0.5% of the range seen
        path = save_checkpoint(
            tmp_path / f"{kind}-{dtype}.pt",
            model,
            TrainConfig(device="cpu"),
            dtype=dtype,
        )
        ckpt = load_checkpoint(path)
        loaded = ckpt.model
        assert type(loaded) is type(model) and ckpt.model_config == model.config
        with torch.no_grad():
            got_logits = loaded.encoder_logits(x)
            got_dec = loaded.decode(z).base_dist.logits
        scale_e, scale_d = logits.abs().max().item(), dec.abs().max().item()
        assert (got_logits - logits).abs().max().item() <= tol * scale_e, dtype
        assert (got_dec - dec).abs().max().item() <= tol * scale_d, dtype
        assert loaded.baseline.item() == pytest.approx(-123.4, abs=0.1)
        assert bool(loaded.baseline_set) == bool(model.baseline_set)


# --- evaluation against enumeration ---------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "categorical"])
def test_evaluate_against_enumeration(kind):
    torch.manual_seed(9)
    if kind == "binary":
        model = binary(latent_dim=4, hidden=(32,))
        states, log_prior = enumerate_states(4), 4 * math.log(0.5)
    else:
        model = categorical(
            num_latents=2, num_classes=3, hidden=(32,), estimator="straight-through"
        )
        states, log_prior = enumerate_states(2, 3), 2 * math.log(1 / 3)
    train, test = (
        BinarizedMNIST.load("train", limit=500),
        BinarizedMNIST.load("test", limit=100),
    )
    fit(model, TrainConfig(epochs=2, batch_size=100, device="cpu"), train, test=False)
    iw_samples = 200
    torch.manual_seed(10)
    result = evaluate(model, test, iw_samples=iw_samples)
    xt = test.fixed()
    with torch.no_grad():
        log_px_z = model.decode(states[:, None]).log_prob(xt)  # (N, B)
        log_q = model.encode(xt).log_prob(states[:, None])  # (N, B)
    q = log_q.exp()
    exact_nll = -torch.logsumexp(log_px_z + log_prior, 0)  # (B,)
    mean_log_px = (q * log_px_z).sum(0)
    kl = (q * (log_q - log_prior)).sum(0)
    exact_neg_elbo = -(mean_log_px - kl)
    assert torch.all(exact_nll <= exact_neg_elbo + 1e-3)
    # -ELBO: one sample of z per image; its Monte Carlo error from the exact variance
    # under q
    var_log_px = (q * (log_px_z - mean_log_px) ** 2).sum(0)
    se = var_log_px.sum().sqrt().item() / len(xt)
    assert abs(result["neg_elbo"] - exact_neg_elbo.mean().item()) < 4 * se + 1e-3, (
        result,
        se,
    )
    # IW NLL: bias ~ chi^2(p(z|x) || q) / (2 S) >= 0, spread sqrt(chi^2 / S) per image
    log_w = log_px_z + log_prior - log_q
    chi2 = (
        torch.exp(log_q + 2 * log_w + 2 * exact_nll).sum(0) - 1
    )  # E_q[w^2] / p(x)^2 - 1
    bias = (chi2 / (2 * iw_samples)).mean().item()
    iw_se = (chi2 / iw_samples).sum().sqrt().item() / len(xt)
    assert abs(result["iw_nll"] - exact_nll.mean().item() - bias) < 4 * iw_se + 1e-3, (
        result,
        bias,
        iw_se,
    )
    assert result["iw_nll"] <= result["neg_elbo"] + 3 * result["neg_elbo_se"]
    assert result["num_images"] == 100 and result["iw_samples"] == iw_samples
