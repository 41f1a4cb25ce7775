"""Vector quantization and the VQ-VAE (vaebook.vq) against brute force and the paper's
formulas: nearest codes by torch.cdist, the straight-through copy, the EMA codebook
update by hand, perplexity and usage of known counts, and the objective recomputed from
the networks."""

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from vaebook.data import BinarizedMNIST
from vaebook.training import TrainConfig, TrainState
from vaebook.vq import (
    PointMass,
    VQLoss,
    VQVAEConfig,
    code_counts,
    codebook_stats,
    ema_update,
    fit_code_prior,
    nearest_code,
    perplexity,
    straight_through,
    usage,
)

F64 = torch.float64
K, C = 8, 4


def tiny(**kw):
    return VQVAEConfig(
        **{"channels": (4, 8), "codebook_size": K, "code_dim": C, **kw}
    ).build()


@pytest.fixture(scope="module")
def x():
    return BinarizedMNIST.load("train", limit=40).fixed()


def state():
    return TrainState(TrainConfig(device="cpu"))


# --- the pieces -----------------------------------------------------------------------


def test_nearest_code_is_brute_force_argmin():
    torch.manual_seed(0)
    codebook = torch.randn(K, C, dtype=F64)
    z_e = torch.randn(5, 7, C, dtype=F64)
    expected = torch.cdist(z_e.reshape(-1, C), codebook).argmin(1).reshape(5, 7)
    assert torch.equal(nearest_code(z_e, codebook), expected)
    # every vector sits exactly on a code: that code is chosen
    assert torch.equal(
        nearest_code(codebook[[3, 1, 7]], codebook), torch.tensor([3, 1, 7])
    )


def test_straight_through_forwards_z_q_and_copies_the_gradient():
    torch.manual_seed(1)
    z_e = torch.randn(3, 5, C, requires_grad=True)
    z_q = torch.randn(3, 5, C, requires_grad=True)
    out = straight_through(z_e, z_q)
    torch.testing.assert_close(out, z_q, rtol=0, atol=1e-6)
    upstream = torch.randn(3, 5, C)
    out.backward(upstream)
    torch.testing.assert_close(z_e.grad, upstream)
    assert z_q.grad is None


def test_ema_update_matches_the_formulas():
    torch.manual_seed(2)
    gamma, eps = 0.9, 1e-5
    n_old = torch.rand(K, dtype=F64) * 3
    m_old = torch.randn(K, C, dtype=F64)
    z_e = torch.randn(20, C, dtype=F64)
    idx = torch.randint(0, K - 2, (20,))  # the last two codes are chosen by no vector
    n_new, m_new = n_old.clone(), m_old.clone()
    codebook = ema_update(n_new, m_new, z_e, idx, gamma, eps)
    for i in range(K):
        chosen = idx == i
        assert n_new[i].item() == pytest.approx(
            gamma * n_old[i].item() + (1 - gamma) * chosen.sum().item()
        )
        torch.testing.assert_close(
            m_new[i], gamma * m_old[i] + (1 - gamma) * z_e[chosen].sum(0)
        )
    total = n_new.sum()
    smoothed = (n_new + eps) / (total + K * eps) * total
    torch.testing.assert_close(codebook, m_new / smoothed[:, None])
    assert smoothed.sum().item() == pytest.approx(
        total.item()
    )  # the smoothing keeps the total count


def test_ema_update_with_a_never_used_code_stays_finite():
    torch.manual_seed(3)
    gamma = 0.99
    n = torch.ones(K)
    m = torch.randn(K, C)
    for _ in range(5000):  # code 0 is never chosen: N_0 and m_0 decay to (float32) zero
        z_e = torch.randn(16, C)
        codebook = ema_update(n, m, z_e, torch.randint(1, K, (16,)), gamma)
    assert (
        torch.all(torch.isfinite(codebook))
        and torch.all(torch.isfinite(n))
        and torch.all(torch.isfinite(m))
    )
    assert n[0].item() == pytest.approx(gamma**5000, rel=1e-3)
    assert (
        codebook[0].abs().max().item() < 1e-6
    )  # m_0 / N~_0 with m_0 -> 0 and N~_0 > 0
    # a code unused from the very start (N_i = 0) also divides safely
    n0, m0 = torch.zeros(K), torch.zeros(K, C)
    out = ema_update(n0, m0, torch.randn(4, C), torch.tensor([1, 1, 2, 2]), gamma)
    assert torch.all(torch.isfinite(out)) and torch.all(out[0] == 0)


def test_code_counts_perplexity_usage():
    idx = torch.tensor([[0, 2, 2], [5, 2, 0]])
    counts = code_counts(idx, 6)
    ref = Counter(idx.flatten().tolist())
    assert counts.tolist() == [float(ref.get(i, 0)) for i in range(6)]
    assert perplexity(torch.full((K,), 5.0)).item() == pytest.approx(K)
    assert perplexity(torch.tensor([0.0, 9.0, 0.0, 0.0])).item() == pytest.approx(1.0)
    probs = torch.tensor([2.0, 1.0, 3.0]) / 6
    assert perplexity(counts).item() == pytest.approx(
        math.exp(-(probs * probs.log()).sum().item())
    )
    assert usage(counts).item() == pytest.approx(3 / 6)
    assert usage(torch.tensor([0.0, 3.0, 0.0, 1.0])).item() == 0.5


def test_point_mass():
    value = torch.tensor([[1, 2, 3], [0, 0, 4]])
    q = PointMass(value)
    assert q.batch_shape == (2,) and q.event_shape == (3,)
    assert torch.equal(q.sample((5,)), value.expand(5, 2, 3))
    lp = q.log_prob(torch.tensor([[1, 2, 3], [0, 1, 4]]))
    assert lp[0].item() == 0 and lp[1].item() == -math.inf


def test_vq_loss_total():
    terms = VQLoss(torch.tensor([10.0]), torch.tensor([2.0]), torch.tensor([4.0]))
    assert terms.total(0.25, ema=True).item() == 11.0
    assert terms.total(0.25, ema=False).item() == 13.0


def test_config_refusals():
    for decay in (0.0, 1.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="decay"):
            VQVAEConfig(decay=decay)
    with pytest.raises(ValueError, match="commitment"):
        VQVAEConfig(commitment=-0.1)
    VQVAEConfig(commitment=0.0)  # allowed


# --- the model ------------------------------------------------------------------------


def hand_terms(model, x):
    """Codes, -log p(x|z_q), codebook and commitment terms recomputed from the
    networks."""
    z_e = model.encoder(x).flatten(2).transpose(1, 2)  # (B, L, C)
    idx = torch.cdist(z_e.reshape(-1, C), model.codebook).argmin(1).reshape(len(x), -1)
    z_q = model.codebook[idx]
    grid = z_q.transpose(1, 2).reshape(len(x), C, 7, 7)
    recon = F.binary_cross_entropy_with_logits(
        model.decoder(grid), x, reduction="none"
    ).sum(-1)
    sq = (z_e - z_q).pow(2).sum((1, 2))
    return idx, recon, sq, z_e


@pytest.mark.parametrize("ema", [True, False])
def test_eval_objective_by_hand(ema, x):
    torch.manual_seed(4)
    model = tiny(ema=ema).eval()
    with torch.no_grad():
        model.codebook.copy_(
            torch.randn(K, C) * 0.3
        )  # spread the codes so several are used
        out = model.objective(x)
        idx, recon, sq, _ = hand_terms(model, x)
    assert torch.equal(model.codes(x), idx)
    kl = 49 * math.log(K)
    torch.testing.assert_close(out["kl"], torch.full((len(x),), kl))
    torch.testing.assert_close(-out["log_px_given_z"], recon, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(out["neg_elbo"], recon + kl, rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(out["codebook_loss"], sq, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out["commitment_loss"], sq, rtol=1e-5, atol=1e-5)
    # KL(point mass || uniform prior) = -log p(z) = L log K
    torch.testing.assert_close(-model.prior().log_prob(idx), out["kl"])
    torch.testing.assert_close(
        model.decode(idx).log_prob(x), -recon, rtol=1e-5, atol=1e-3
    )
    counts = code_counts(idx, K)
    assert out["usage"][0].item() == pytest.approx(usage(counts).item())
    assert out["perplexity"][0].item() == pytest.approx(perplexity(counts).item())
    assert out["unused_codes"][0].item() == (counts == 0).sum().item()


def test_ema_codebook_is_a_buffer_updated_by_the_formula(x):
    torch.manual_seed(5)
    model = tiny(ema=True, decay=0.8).train()
    assert "codebook" in dict(model.named_buffers())
    assert all(name != "codebook" for name, _ in model.named_parameters())
    n_before, m_before = model.ema_cluster_size.clone(), model.ema_embed_sum.clone()
    with torch.no_grad():
        idx, recon, sq, z_e = hand_terms(model, x)
    out = model.objective(x, state())
    # the loss has no codebook term: reconstruction + beta * commitment
    assert out["loss"].item() == pytest.approx(
        (recon + 0.25 * sq).mean().item(), rel=1e-5
    )
    assert out["loss"].item() != pytest.approx(
        (recon + sq + 0.25 * sq).mean().item(), rel=1e-5
    )
    out["loss"].backward()
    assert model.codebook.grad is None and not model.codebook.requires_grad
    assert all(p.grad is not None for p in model.encoder.parameters())
    # the codebook moved by one EMA step of this batch's assignments
    n_ref, m_ref = n_before.clone(), m_before.clone()
    expected = ema_update(
        n_ref, m_ref, z_e.reshape(-1, C), idx.reshape(-1), 0.8, model.config.epsilon
    )
    torch.testing.assert_close(model.codebook, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.ema_cluster_size, n_ref)


def test_codebook_loss_trains_the_codebook_without_ema(x):
    torch.manual_seed(6)
    model = tiny(ema=False).train()
    with torch.no_grad():
        model.codebook.copy_(torch.randn(K, C) * 0.3)
    assert "codebook" in dict(model.named_parameters())
    before = model.codebook.detach().clone()
    with torch.no_grad():
        idx, recon, sq, z_e = hand_terms(model, x)
    out = model.objective(x, state())
    assert torch.equal(model.codebook.detach(), before)  # no EMA step
    assert out["loss"].item() == pytest.approx(
        (recon + sq + 0.25 * sq).mean().item(), rel=1e-5
    )
    out["loss"].backward()
    # only the codebook term reaches the codes: d/de_k mean_b sum_l ||z_e - e||^2 =
    # (2/B) sum_{j->k} (e_k - z_e_j)
    expected = torch.zeros(K, C)
    flat_z, flat_i = z_e.reshape(-1, C), idx.reshape(-1)
    for k in range(K):
        expected[k] = 2 * (before[k] - flat_z[flat_i == k]).sum(0) / len(x)
    torch.testing.assert_close(model.codebook.grad, expected, rtol=1e-4, atol=1e-6)
    assert model.codebook.grad.abs().sum() > 0


def test_codebook_stats_and_code_prior(x):
    torch.manual_seed(7)
    model = tiny()
    with torch.no_grad():
        model.codebook.copy_(torch.randn(K, C) * 0.3)
    stats = codebook_stats(model, x, batch_size=7)
    codes = model.codes(x)
    counts = code_counts(codes, K)
    assert torch.equal(stats["counts"], counts) and counts.sum().item() == len(x) * 49
    assert stats["usage"] == pytest.approx(usage(counts).item())
    assert stats["perplexity"] == pytest.approx(perplexity(counts).item())
    assert (
        stats["unused_codes"] == int((counts == 0).sum())
        and stats["codebook_size"] == K
    )
    assert torch.equal(codebook_stats(model, x, batch_size=1000)["counts"], counts)
    prior = fit_code_prior(model, x, batch_size=9, pseudocount=0.5)
    assert prior.shape == (49, K)
    torch.testing.assert_close(prior.exp().sum(1), torch.ones(49))
    per_position = F.one_hot(codes, K).sum(0).float()  # (L, K)
    torch.testing.assert_close(
        prior, torch.log((per_position + 0.5) / (len(x) + 0.5 * K))
    )
