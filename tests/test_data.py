"""MNIST loading and the two binarizations, checked on the real files."""
import pytest
import torch

from vaebook.data import DATA_ENV, BinarizedMNIST, load_mnist_images


@pytest.fixture(scope="module")
def train():
    return BinarizedMNIST.load("train", "dynamic", seed=0, limit=6000)


def test_real_mnist_statistics():
    grey, labels = load_mnist_images("train")
    assert grey.shape == (60_000, 784) and labels.shape == (60_000,)
    assert abs(grey.mean().item() - 0.1307) < 1e-4 and abs(grey.std().item() - 0.3081) < 1e-4
    test_grey, _ = load_mnist_images("test")
    assert test_grey.shape == (10_000, 784)


def test_binarized_pixels_have_the_grey_values_as_mean(train):
    x = train.binary(epoch=0)
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    p = train.grey
    se = (p * (1 - p)).sum().sqrt() / p.numel()  # std of the mean of independent Bernoullis
    assert abs(x.mean() - p.mean()) < 4 * se
    # per pixel, over 50 epochs of dynamic binarization
    draws = torch.stack([train.binary(epoch=e)[:200] for e in range(50)]).mean(0)
    z = (draws - p[:200]) / ((p[:200] * (1 - p[:200]) / 50).sqrt() + 1e-9)
    assert z[(p[:200] > 0.05) & (p[:200] < 0.95)].abs().max() < 6


def test_dynamic_changes_every_epoch_static_never(train):
    assert not torch.equal(train.binary(0), train.binary(1))
    assert torch.equal(train.binary(3), train.to("cpu").binary(3)), "the same epoch is the same sample"
    static = BinarizedMNIST(train.grey, train.labels, "static", seed=5)
    assert torch.equal(static.binary(0), static.binary(7))
    again = BinarizedMNIST(train.grey, train.labels, "static", seed=5)
    other = BinarizedMNIST(train.grey, train.labels, "static", seed=6)
    assert torch.equal(static.fixed(), again.fixed()) and not torch.equal(static.fixed(), other.fixed())


def test_an_epoch_of_batches_is_a_permutation_of_the_split(train):
    batches = list(train.batches(1000, epoch=2))
    assert [len(b) for b in batches] == [1000] * 6
    x = torch.cat(batches)
    key = lambda t: sorted(map(tuple, t.to(torch.uint8).tolist()))  # noqa: E731
    assert key(x[:300]) != key(train.binary(2)[:300]), "batches are shuffled"
    assert key(x) == key(train.binary(2)), "every image exactly once"


def test_bad_input_is_refused_with_the_allowed_values(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="binarization must be one of"):
        BinarizedMNIST(torch.zeros(2, 784), torch.zeros(2), "otsu")
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist_images("validation")
    with pytest.raises(ValueError, match="positive"):
        BinarizedMNIST.load("test", limit=0)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match=DATA_ENV):
        load_mnist_images("test", download=False)
