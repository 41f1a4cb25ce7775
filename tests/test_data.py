"""MNIST loading and the two binarizations, checked on the real files."""

import pytest
import torch

from vaebook.data import DATA_ENV, BinarizedMNIST, BinaryImages, load_mnist_images


@pytest.fixture(scope="module")
def train():
    return BinarizedMNIST.load("train", "dynamic", seed=0, limit=6000)


def test_real_mnist_statistics():
    grey, labels = load_mnist_images("train")
    assert grey.shape == (60_000, 784) and labels.shape == (60_000,)
    assert (
        abs(grey.mean().item() - 0.1307) < 1e-4
        and abs(grey.std().item() - 0.3081) < 1e-4
    )
    test_grey, _ = load_mnist_images("test")
    assert test_grey.shape == (10_000, 784)


def test_binarized_pixels_have_the_grey_values_as_mean(train):
    x = train.binary(epoch=0)
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    p = train.grey
    se = (
        p * (1 - p)
    ).sum().sqrt() / p.numel()  # std of the mean of independent Bernoullis
    assert abs(x.mean() - p.mean()) < 4 * se
    # per pixel, over 50 epochs of dynamic binarization
    draws = torch.stack([train.binary(epoch=e)[:200] for e in range(50)]).mean(0)
    z = (draws - p[:200]) / ((p[:200] * (1 - p[:200]) / 50).sqrt() + 1e-9)
    assert z[(p[:200] > 0.05) & (p[:200] < 0.95)].abs().max() < 6


def test_dynamic_changes_every_epoch_static_never(train):
    assert not torch.equal(train.binary(0), train.binary(1))
    assert torch.equal(train.binary(3), train.to("cpu").binary(3)), (
        "the same epoch is the same sample"
    )
    static = BinarizedMNIST(train.grey, train.labels, "static", seed=5)
    assert torch.equal(static.binary(0), static.binary(7))
    again = BinarizedMNIST(train.grey, train.labels, "static", seed=5)
    other = BinarizedMNIST(train.grey, train.labels, "static", seed=6)
    assert torch.equal(static.fixed(), again.fixed()) and not torch.equal(
        static.fixed(), other.fixed()
    )


def test_an_epoch_of_batches_is_a_permutation_of_the_split(train):
    batches = list(train.batches(1000, epoch=2))
    assert [len(b) for b in batches] == [1000] * 6
    x = torch.cat(batches)
    key = lambda t: sorted(map(tuple, t.to(torch.uint8).tolist()))
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


def test_a_data_set_that_is_not_mnist_trains_through_the_public_api():
    """8x8 binary images of bars made here (not MNIST): BinaryImages from a tensor, a
    model sized from the data, fit and evaluate on tensors, and the bound improves."""
    from vaebook.data import BinaryImages
    from vaebook.evaluation import evaluate
    from vaebook.models import VAEConfig
    from vaebook.training import TrainConfig, fit

    g = torch.Generator().manual_seed(0)
    rows = torch.randint(0, 8, (600,), generator=g)
    images = torch.zeros(600, 8, 8)
    images[torch.arange(600), rows] = 1.0  # one horizontal bar per image
    flip = torch.rand(600, 8, 8, generator=g) < 0.02
    images = torch.where(flip, 1 - images, images)
    train = BinaryImages.from_tensor(images[:500], rows[:500], name="bars")
    assert train.data_dim == 64 and train.image_shape == (8, 8)
    assert train.binarization == "binary" and "bars" in train.describe()
    assert "MNIST" not in train.describe() and "8x8" in train.describe()
    torch.manual_seed(0)
    model = VAEConfig(hidden=(32,), latent_dim=4, data_dim=train.data_dim).build()
    before = evaluate(model, images[400:], iw_samples=10)
    assert "MNIST" not in before["data"]
    history = fit(
        model,
        TrainConfig(epochs=15, batch_size=50, lr=3e-3, device="cpu"),
        train,
        images[400:],
    )
    after = evaluate(model, images[400:], iw_samples=10)
    assert history[-1]["test_neg_elbo"] < history[0]["test_neg_elbo"] - 5
    assert after["iw_nll"] < before["iw_nll"] - 10, (before, after)


def test_data_sets_from_torchvision_and_grey_tensors():
    from torch.utils.data import TensorDataset

    from vaebook.data import BinaryImages

    grey = torch.rand(20, 1, 6, 5)
    data = BinaryImages.from_tensor(grey, name="noise")
    assert data.binarization == "dynamic" and data.image_shape == (1, 6, 5)
    assert data.data_dim == 30 and not torch.equal(data.binary(0), data.binary(1))
    as_bytes = BinaryImages.from_tensor((grey * 255).to(torch.uint8))
    assert as_bytes.grey.max() <= 1 and as_bytes.data_dim == 30

    class Items(TensorDataset):  # a torchvision-style set of (image, label) items
        pass

    items = BinaryImages.from_torchvision(Items(grey[:, 0], torch.arange(20)))
    assert items.name == "Items" and items.image_shape == (6, 5) and len(items) == 20
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BinaryImages.from_tensor(grey * 3)
    with pytest.raises(TypeError, match="BinaryImages"):
        from vaebook.data import as_dataset

        as_dataset([[0, 1]])


def test_a_model_of_the_wrong_size_is_refused_before_training():
    from vaebook.models import VAEConfig
    from vaebook.training import TrainConfig, fit

    model = VAEConfig(hidden=(8,), latent_dim=2).build()  # 784 pixels
    with pytest.raises(ValueError, match="data_dim=784.*8x8.*data_dim=64"):
        fit(model, TrainConfig(epochs=1, device="cpu"), torch.zeros(10, 8, 8), False)


def test_an_empty_data_root_gives_one_line_naming_what_to_set(tmp_path, monkeypatch):
    from vaebook.data import DataNotFoundError

    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    for split, name in [("test", "t10k-images"), ("train", "train-images")]:
        with pytest.raises(DataNotFoundError) as info:
            BinarizedMNIST.load(split)
        message = str(info.value)
        assert "\n" not in message and DATA_ENV in message and name in message, message
        assert f"MNIST {split}" in message
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_training_data_is_reshuffled_every_epoch():
    """fit sees every image once per epoch, in another order each epoch, the same
    orders for the same seed (the data's: it seeds the order, and fit loads MNIST with
    the config's): 256 distinct binary images (the bits of their index)."""
    from vaebook.models import VAEConfig
    from vaebook.training import TrainConfig, fit

    bits = 2 ** torch.arange(8)
    images = ((torch.arange(256)[:, None] & bits) > 0).float()  # (256, 8)

    def orders(seed):
        seen = []

        def objective(model, x, state):
            seen.append(((x > 0.5).long() * bits).sum(1))
            return {"loss": model.decoder(torch.zeros(len(x), 2)).sum() * 0}

        model = VAEConfig(hidden=(4,), latent_dim=2, data_dim=8).build()
        config = TrainConfig(epochs=3, batch_size=64, seed=seed, device="cpu")
        fit(
            model, config, BinaryImages.from_tensor(images, seed=seed), False, objective
        )
        return torch.cat(seen).reshape(3, 256)

    epochs = orders(seed=0)
    for order in epochs:
        assert torch.equal(order.sort().values, torch.arange(256))  # all, once
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(
        epochs[1], epochs[2]
    )
    assert torch.equal(epochs, orders(seed=0)) and not torch.equal(epochs, orders(1))


def test_the_evaluation_binarization_states_the_generator_seed_it_used():
    """Dynamic data of seed 5 is binarized for evaluation by generator seed
    5 x 1,000,003, and says so; it says nothing about how a model was trained."""
    grey = torch.rand(30, 16)
    data = BinaryImages.from_tensor(grey, seed=5)
    phrase = data.describe(fixed=True)
    assert "seed 5000015 = 5 x 1,000,003" in phrase and "trained" not in phrase
    drawn = torch.bernoulli(grey, generator=torch.Generator().manual_seed(5000015))
    assert torch.equal(data.fixed(), drawn) and data.binarization_seed(0) == 5000015
    assert "one Bernoulli sample, seed 0)" in BinaryImages.from_tensor(grey).describe(
        fixed=True
    )
    static = BinaryImages(grey, binarization="static", seed=5)
    drawn = torch.bernoulli(grey, generator=torch.Generator().manual_seed(5))
    assert torch.equal(static.fixed(), drawn) and "seed 5)" in static.describe()
