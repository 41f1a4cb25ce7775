"""The shipped checkpoints: loadable, small, and meeting the targets they are shipped for."""
import pytest

from vaebook import pretrained

MB = 1024 * 1024


def test_shipped_weights_are_small():
    total = sum(pretrained.path(n).stat().st_size for n in pretrained.available())
    assert total < 16 * MB, f"{total / MB:.1f} MB of shipped weights"


@pytest.mark.parametrize("name", pretrained.available())
def test_every_shipped_checkpoint_loads_with_its_record(name):
    ckpt = pretrained.load(name)
    assert ckpt.history and ckpt.train_config is not None
    assert "command" in ckpt.metrics["test"], "every shipped model records the command that made it"


def test_main_vae_meets_its_nll_target():
    ckpt = pretrained.load("mnist_vae")
    test = ckpt.metrics["test"]
    assert test["iw_samples"] == 5000 and test["num_images"] == 10_000
    assert ckpt.train_config.binarization == "dynamic" and ckpt.train_config.train_limit is None
    assert test["iw_nll"] <= 88.0
    assert test["iw_nll"] < test["neg_elbo"]


def test_unknown_name_lists_what_is_shipped():
    with pytest.raises(FileNotFoundError, match="mnist_vae"):
        pretrained.load("no_such_model")


def test_the_chapters_models_are_shipped():
    wanted = {"mnist_vae", "mnist_vae_2d"} | {f"mnist_vae_beta_{b}" for b in (0.1, 0.3, 1, 3, 10)}
    missing = wanted - set(pretrained.available())
    assert not missing, f"not shipped: {sorted(missing)}; scripts/train_pretrained.sh trains them"
