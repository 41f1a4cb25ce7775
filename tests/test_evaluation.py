"""vaebook.evaluation: the standard errors it reports and the inputs it refuses."""

import pytest
import torch


def test_evaluate_standard_errors_are_std_over_sqrt_n(monkeypatch):
    """iw_nll_se and neg_elbo_se are std / sqrt(n) over the n images: recomputed here
    from per-image bounds known in advance (std / n, a common slip, fails this)."""
    from vaebook import evaluation
    from vaebook.models import VAEConfig

    n = 400
    per_image = torch.linspace(
        80.0, 120.0, n
    )  # -L_S(x) for each image, as the model would give
    monkeypatch.setattr(
        evaluation, "iw_bound", lambda model, x, s: -per_image[x[:, 0].long()]
    )
    monkeypatch.setattr(
        evaluation,
        "elbo",
        lambda model, x, s: type(
            "Terms", (), {"elbo": -(per_image[x[:, 0].long()] + 2.0)}
        )(),
    )
    x = torch.zeros(n, 784)
    x[:, 0] = torch.arange(n)  # the image index, read back by the stand-in bounds above
    model = VAEConfig(hidden=(4,), latent_dim=2).build()
    from vaebook.data import BinaryImages

    data = BinaryImages(x, binarization="grey", name="index")
    result = evaluation.evaluate(model, data, iw_samples=3, batch_size=64)
    se = per_image.std().item() / n**0.5
    assert result["num_images"] == n
    assert abs(result["iw_nll"] - per_image.mean().item()) < 1e-4
    assert abs(result["iw_nll_se"] - se) < 1e-6 * se + 1e-7, (result["iw_nll_se"], se)
    assert abs(result["neg_elbo_se"] - se) < 1e-6 * se + 1e-7
    assert abs(result["iw_nll_se"] - per_image.std().item() / n) > 10 * se / n**0.5


def test_evaluate_refuses_bad_sample_counts():
    from vaebook.evaluation import evaluate
    from vaebook.models import VAEConfig

    model = VAEConfig(hidden=(4,), latent_dim=2).build()
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="iw_samples must be an integer >= 1"):
            evaluate(model, torch.zeros(3, 784), iw_samples=bad)


def test_evaluate_honours_elbo_samples(monkeypatch):
    """The -ELBO is estimated with elbo_samples samples of z per image (the IW bound
    with iw_samples), and the data phrase claims nothing about training."""
    from vaebook import evaluation
    from vaebook.models import VAEConfig

    calls, real = [], evaluation.elbo

    def spy(model, x, num_samples=1):
        calls.append(num_samples)
        return real(model, x, num_samples)

    monkeypatch.setattr(evaluation, "elbo", spy)
    torch.manual_seed(0)
    model = VAEConfig(hidden=(4,), latent_dim=2).build()
    grey = torch.rand(20, 784)
    result = evaluation.evaluate(model, grey, iw_samples=3, elbo_samples=7)
    assert calls == [7]
    assert "trained" not in result["data"] and "seed 0)" in result["data"]
    torch.manual_seed(1)
    x = evaluation.as_dataset(grey).fixed()
    expected = -real(model, x, 7).elbo.mean().item()
    torch.manual_seed(1)
    again = evaluation.evaluate(model, grey, iw_samples=3, elbo_samples=7)
    assert again["neg_elbo"] == pytest.approx(expected, rel=1e-6)
