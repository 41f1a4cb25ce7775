"""The shipped checkpoints: loadable, small, and meeting the targets they are shipped
for."""

import pytest

from vaebook import pretrained

MB = 1024 * 1024


def test_shipped_weights_are_small():
    total = sum(pretrained.path(n).stat().st_size for n in pretrained.available())
    assert total < 32 * MB, f"{total / MB:.1f} MB of shipped weights"


@pytest.mark.parametrize("name", pretrained.available())
def test_every_shipped_checkpoint_loads_with_its_record(name):
    ckpt = pretrained.load(name)
    assert ckpt.history and ckpt.train_config is not None
    assert "command" in ckpt.metrics["test"], (
        "every shipped model records the command that made it"
    )


def test_main_vae_meets_its_nll_target():
    ckpt = pretrained.load("mnist_vae")
    test = ckpt.metrics["test"]
    assert test["iw_samples"] == 5000 and test["num_images"] == 10_000
    assert (
        ckpt.train_config.binarization == "dynamic"
        and ckpt.train_config.train_limit is None
    )
    assert test["iw_nll"] <= 88.0
    assert test["iw_nll"] < test["neg_elbo"]


def test_unknown_name_lists_what_is_shipped():
    with pytest.raises(FileNotFoundError, match="mnist_vae"):
        pretrained.load("no_such_model")


def test_the_chapters_models_are_shipped():
    wanted = {"mnist_vae", "mnist_vae_2d"} | {
        f"mnist_vae_beta_{b}" for b in (0.1, 0.3, 1, 3, 10)
    }
    missing = wanted - set(pretrained.available())
    assert not missing, (
        f"not shipped: {sorted(missing)}; scripts/train_pretrained.sh trains them"
    )


def test_discrete_models_record_what_their_chapters_claim():
    """The Gumbel-softmax VAE's relaxed test -ELBO is at or below Jang et al.'s 101.5
    (its hard, exact bound is higher and recorded too); the paper-setting VQ-VAE uses at
    least 95 % of its codes."""
    cat = pretrained.load("cat_gumbel_vae")
    last = cat.history[-1]
    assert last["test_relaxed_neg_elbo"] <= 101.5 < last["test_hard_neg_elbo"]
    assert (
        cat.history[0]["test_temperature"] > last["test_temperature"] == 0.5
    )  # it annealed
    vq = pretrained.load("vq_ema")
    assert (
        vq.model_config.ema
        and vq.model_config.decay == 0.99
        and vq.model_config.commitment == 0.25
    )
    assert (
        not vq.model_config.data_init and vq.model_config.restart_below == 0
    )  # no extra tricks
    assert vq.history[-1]["test_usage"] >= 0.95


@pytest.mark.parametrize(
    "name",
    ["bin_f1", "bin_f2", "bin_f3", "bin_f1_anneal", "bin_f2_anneal", "bin_f3_anneal"],
)
def test_every_smoother_trains(name):
    history = pretrained.load(name).history
    assert history[-1]["test_neg_elbo"] < 150 < history[0]["test_neg_elbo"]
