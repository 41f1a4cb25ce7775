"""The VQ-VAE chapter's experiments (vaebook.experiments.vq) and vaebook.vq's code
priors, against references: the autoregressive code prior normalizes (enumeration of
every grid), is causal, samples what it scores and learns a known Markov chain's
entropy; the bound under a prior reduces to the model's own -ELBO for the uniform prior;
EMA k-means finds well-separated clusters and lags behind moving ones more for larger
gamma."""

import itertools
import math

import pytest
import torch

from vaebook.checkpoints import Checkpoint
from vaebook.data import BinarizedMNIST
from vaebook.experiments.vq import (
    AutoregressiveCodePrior,
    RandomCodeBatches,
    against,
    ema_kmeans,
    fit_autoregressive_prior,
    moving_clusters,
    neg_elbo_under_prior,
    setting,
    variants_table,
)
from vaebook.training import TrainConfig, TrainState
from vaebook.vq import VQVAEConfig, encode_codes, fit_code_prior, per_position_prior

K, C = 8, 4


def tiny_vq():
    torch.manual_seed(0)
    model = VQVAEConfig(channels=(4, 8), codebook_size=K, code_dim=C).build().eval()
    with torch.no_grad():
        model.codebook.copy_(
            torch.randn(K, C) * 0.3
        )  # spread the codes so several are used
    return model


@pytest.fixture(scope="module")
def x():
    return BinarizedMNIST.load("train", limit=30).fixed()


def fake_checkpoint(config, neg_elbo, se, epochs=3, steps_per_epoch=5):
    """A Checkpoint with the fields variants_table reads: config, history, metrics."""
    history = [
        {"epoch": e, "step": e * steps_per_epoch, "seconds": 2.0}
        for e in range(1, epochs + 1)
    ]
    metrics = {"test": {"neg_elbo": neg_elbo, "neg_elbo_se": se}}
    return Checkpoint(config.build(), config, None, history, metrics)


def test_variants_table_reads_settings_length_and_bound():
    small = {"channels": (4, 8), "codebook_size": K, "code_dim": C}
    ckpts = {
        "paper": fake_checkpoint(VQVAEConfig(**small), 100.0, 0.5),
        "loss": fake_checkpoint(VQVAEConfig(**small, ema=False), 99.2, 0.3),
        "restart": fake_checkpoint(
            VQVAEConfig(**small, decay=0.9, data_init=True, restart_below=1),
            101.5,
            0.4,
            epochs=2,
        ),
    }
    table = variants_table(ckpts)
    assert list(table.index) == ["paper", "loss", "restart"]
    assert list(table["setting"]) == [
        "paper",
        "codebook loss",
        "gamma 0.9, data init + restarts",
    ]
    assert setting(VQVAEConfig(**small, commitment=2.0)) == "beta 2"
    assert list(table["epochs"]) == [3, 3, 2]
    assert list(table["steps"]) == [15, 15, 10]
    assert table.loc["paper", "train s"] == pytest.approx(6.0)
    kl = 49 * math.log(K)  # the uniform prior's KL, L log K with L = 7 x 7
    assert table.loc["paper", "-log p(x|z_q)"] == pytest.approx(100.0 - kl)
    verdicts = against(table, "paper")
    # 99.2 vs 100: 0.8 apart, noise 0.3 + 0.5 = 0.8, not beyond it
    assert list(verdicts["verdict"]) == ["reference", "within noise", "higher"]
    assert verdicts.loc["restart", "difference"] == pytest.approx(1.5)
    assert verdicts.loc["restart", "noise"] == pytest.approx(0.9)
    assert against(table, "loss").loc["restart", "verdict"] == "higher"
    assert against(table, "restart").loc["loss", "verdict"] == "lower"


def test_encode_codes_is_model_codes_in_batches(x):
    model = tiny_vq()
    assert torch.equal(encode_codes(model, x, batch_size=7), model.codes(x))


def test_autoregressive_prior_normalizes_over_every_grid():
    torch.manual_seed(1)
    prior = AutoregressiveCodePrior(3, 4, width=6, kernel=3, layers=2)
    with torch.no_grad():
        for p in prior.parameters():  # random, non-trivial weights
            p.copy_(torch.randn_like(p))
        grids = torch.tensor(
            list(itertools.product(range(3), repeat=4))
        )  # all 3^4 grids
        total = prior.log_prob(grids).exp().sum()
    assert total.item() == pytest.approx(1.0, abs=1e-5)


def test_autoregressive_prior_is_causal():
    torch.manual_seed(2)
    prior = AutoregressiveCodePrior(5, 10, width=8, kernel=4)
    z = torch.randint(0, 5, (3, 10))
    base = prior.logits(z)
    for l in range(10):
        changed = z.clone()
        changed[:, l:] = torch.randint(0, 5, (3, 10 - l))  # only positions >= l differ
        assert torch.allclose(
            prior.logits(changed)[:, : l + 1], base[:, : l + 1], atol=1e-6
        ), l
    # ... while changing z_l does change a later conditional (the prior is not
    # factorial)
    changed = z.clone()
    changed[:, 0] = (z[:, 0] + 1) % 5
    assert not torch.allclose(prior.logits(changed)[:, 1], base[:, 1])


def test_autoregressive_prior_samples_follow_its_log_prob():
    torch.manual_seed(3)
    prior = AutoregressiveCodePrior(2, 3, width=6, kernel=2)
    with torch.no_grad():
        for p in prior.parameters():
            p.copy_(0.3 * torch.randn_like(p))
    grids = torch.tensor(list(itertools.product(range(2), repeat=3)))
    probs = prior.log_prob(grids).exp().detach()
    assert probs.min() > 0.01 and probs.sum().item() == pytest.approx(1.0, abs=1e-5)
    n = 40_000
    z = prior.sample((n,))
    counts = torch.tensor(
        [(z == g).all(1).sum().item() for g in grids], dtype=torch.float64
    )
    chi2 = float(((counts - n * probs) ** 2 / (n * probs)).sum())
    assert chi2 < 24.3  # chi-square, 7 degrees of freedom, 0.1 % level
    uniform = float(((counts - n / 8) ** 2 / (n / 8)).sum())
    assert (
        uniform > 24.3
    )  # the test has power: the same counts reject the uniform distribution


def test_fit_autoregressive_prior_learns_a_markov_chain():
    """Codes from a 2-state Markov chain: the fitted prior's cross-entropy approaches
    the chain's entropy."""
    torch.manual_seed(4)
    L, stay = 12, 0.9
    z = torch.zeros(4000, L, dtype=torch.long)
    z[:, 0] = torch.randint(0, 2, (4000,))
    for l in range(1, L):
        z[:, l] = torch.where(torch.rand(4000) < stay, z[:, l - 1], 1 - z[:, l - 1])
    h = -(stay * math.log(stay) + (1 - stay) * math.log(1 - stay))
    entropy = math.log(2) + (L - 1) * h  # nats per sequence
    prior, losses = fit_autoregressive_prior(
        z, 2, steps=300, batch_size=200, lr=1e-2, width=8, kernel=2, layers=1
    )
    with torch.no_grad():
        ce = -prior.log_prob(z).mean().item()
    assert losses[0] > entropy + 2  # it starts far from the chain and learns it
    assert entropy - 0.1 < ce < entropy + 0.15, (ce, entropy)


def test_neg_elbo_under_prior(x):
    model = tiny_vq()
    state = TrainState(TrainConfig(device="cpu"))
    uniform = neg_elbo_under_prior(model, x, model.prior(), batch_size=7)
    own = model.objective(x, state)
    torch.testing.assert_close(uniform["kl"], torch.full((len(x),), 49 * math.log(K)))
    torch.testing.assert_close(
        uniform["neg_elbo"], own["neg_elbo"], rtol=1e-5, atol=1e-3
    )
    # a per-position prior fitted on these very codes gives -log p(z) = minus the sum of
    # its log-frequencies
    log_probs = fit_code_prior(model, x, pseudocount=1e-3)
    fitted = neg_elbo_under_prior(model, x, per_position_prior(log_probs))
    codes = model.codes(x)
    torch.testing.assert_close(fitted["kl"], -log_probs.gather(1, codes.T).T.sum(1))
    assert (
        fitted["kl"].mean() < uniform["kl"].mean()
    )  # fitted on them: better than uniform
    torch.testing.assert_close(fitted["reconstruction"], uniform["reconstruction"])


def test_ema_kmeans_finds_separated_clusters():
    torch.manual_seed(5)
    centres = torch.tensor([[-4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    labels = torch.randint(0, 3, (200, 64))
    batches = centres[labels] + 0.1 * torch.randn(200, 64, 2)
    start = centres + 0.5 * torch.randn(3, 2)  # one code near each cluster
    out = ema_kmeans(batches, start, gamma=0.9)
    assert out["trajectory"].shape == (201, 3, 2)
    torch.testing.assert_close(out["trajectory"][-1], centres, atol=0.05, rtol=0)
    assert out["counts"].sum().item() == 64 and (out["counts"] > 0).all()
    assert out["distortion"][-20:].mean() < 0.05


def test_ema_kmeans_lags_more_with_larger_gamma():
    """A cluster moving at constant speed: the EMA code trails it by about speed * gamma
    / (1 - gamma)."""
    torch.manual_seed(6)
    steps, speed = 400, 0.01
    path = torch.arange(1, steps + 1, dtype=torch.float64)[:, None, None] * speed
    batches = path + 0.001 * torch.randn(steps, 32, 1, dtype=torch.float64)
    lag = {}
    for gamma in (0.5, 0.9, 0.99):
        out = ema_kmeans(batches, torch.zeros(1, 1, dtype=torch.float64), gamma)
        lag[gamma] = (path[-1, 0, 0] - out["trajectory"][-1, 0, 0]).item()
    for gamma in (0.5, 0.9):  # the steady-state lag of an EMA of a ramp
        assert lag[gamma] == pytest.approx(speed * gamma / (1 - gamma), rel=0.05)
    assert lag[0.5] < lag[0.9] < lag[0.99]


def test_moving_clusters():
    points, centres = moving_clusters(
        steps=50, batch_size=400, num_clusters=4, noise=0.1, seed=1
    )
    assert points.shape == (50, 400, 2) and centres.shape == (50, 4, 2)
    radius = centres.norm(dim=-1)
    assert (
        torch.allclose(radius[0], torch.full((4,), 0.2))
        and (radius[1:] > radius[:-1]).all()
    )
    # every point lies near one of the centres of its own step
    nearest = torch.cdist(points, centres).min(-1).values
    assert nearest.max() < 0.1 * 5
    assert nearest.pow(2).mean().item() == pytest.approx(
        2 * 0.1**2, rel=0.15
    )  # chi-square, 2 dof


def test_vq_figures_draw(x):
    """The chapter's figure helpers run on a tiny model and a made-up history, and label
    what they show."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vaebook.plots import vq as vqplots
    from vaebook.vq import codebook_stats

    model = tiny_vq()
    history = [
        {
            "epoch": e,
            "step": 600 * e,
            "seconds": 2.0,
            "test_usage": 0.5 + 0.1 * e,
            "test_perplexity": 3.0 + e,
            "test_unused_codes": 4.0 - e,
            "test_encoder_norm": 1.0 + e,
            "test_log_px_given_z": -100.0 + e,
            "test_codebook_loss": 2.0,
            "test_commitment_loss": 2.0,
            "test_neg_elbo": 200.0 - e,
        }
        for e in (1, 2, 3)
    ]
    stats = codebook_stats(model, x)

    class Ckpt:  # the two attributes CheckpointPanel reads
        pass

    ckpt = Ckpt()
    ckpt.model, ckpt.history = model, history
    points = torch.randn(40, 2)
    out = ema_kmeans(points[None].expand(5, 40, 2), torch.randn(3, 2), gamma=0.9)
    figures = [
        vqplots.code_grid(x[0], model.codes(x[:1])[0]),
        vqplots.CheckpointPanel(
            {"m": ckpt}, x, {"m": stats}, "test_encoder_norm", num_images=4
        ).draw("m", "tiny"),
        vqplots.codebook_over_training({"a": history, "b": history}),
        vqplots.EmaToyFigure(points, {0.9: out}, torch.zeros(2, 2)).draw(0.9),
        vqplots.sample_rows({"one row": x[:3]}),
    ]
    panel = figures[1]
    assert (
        f"{int((stats['counts'] > 0).sum())} of {K} used" in panel.axes[1].get_title()
    )
    assert [ax.get_title() for ax in figures[2].axes][0] == "share of the K codes used"
    assert figures[2].axes[0].get_xlabel() == "optimizer steps"
    no_steps = [{k: v for k, v in row.items() if k != "step"} for row in history]
    by_epoch = vqplots.codebook_over_training({"a": no_steps})
    assert by_epoch.axes[0].get_xlabel() == "epoch"
    figures.append(by_epoch)
    for fig in figures:
        assert isinstance(fig, plt.Figure)
        plt.close(fig)


def test_the_code_prior_trains_on_fit_with_a_step_budget():
    """fit_autoregressive_prior is vaebook.training.fit on random batches of codes:
    one loss per step, the same seed the same run, another seed another."""
    codes = torch.randint(0, 3, (50, 4))
    runs = [
        fit_autoregressive_prior(codes, 3, steps=7, batch_size=8, seed=s)
        for s in (0, 0, 1)
    ]
    (a, losses_a), (b, losses_b), (_, losses_c) = runs
    assert len(losses_a) == 7 and losses_a == losses_b != losses_c
    assert not a.training
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    batches = RandomCodeBatches(codes, seed=2).batches(8)
    first = [next(batches) for _ in range(3)]
    again = RandomCodeBatches(codes, seed=2).batches(8)
    assert all(torch.equal(x, next(again)) for x in first) and first[0].shape == (8, 4)
