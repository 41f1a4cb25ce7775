"""Checkpoints: round trip, weights_only loading, atomic writes, clear errors."""

import pytest
import torch

from vaebook.checkpoints import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
    save_difference,
)
from vaebook.models import VAEConfig
from vaebook.training import TrainConfig


@pytest.fixture
def model():
    torch.manual_seed(0)
    return VAEConfig(hidden=(32, 16), latent_dim=3).build()


def test_round_trip_keeps_weights_configs_history_and_metrics(tmp_path, model):
    history = [{"epoch": 1, "test_neg_elbo": 123.4, "test_kl_per_dim": [0.1, 0.2, 0.3]}]
    path = save_checkpoint(
        tmp_path / "m.pt",
        model,
        TrainConfig(epochs=3, beta=0.5),
        history,
        {"test": {"iw_nll": 90.0}},
    )
    raw = torch.load(path, weights_only=True)  # plain data and tensors only
    assert raw["format"] == "vaebook-checkpoint"
    ckpt = load_checkpoint(path)
    assert ckpt.model_config == model.config and ckpt.train_config == TrainConfig(
        epochs=3, beta=0.5
    )
    assert ckpt.history == history and ckpt.metrics == {"test": {"iw_nll": 90.0}}
    for (name, a), (_, b) in zip(
        model.state_dict().items(), ckpt.model.state_dict().items()
    ):
        assert torch.equal(a, b), name
    assert not ckpt.model.training


def test_float16_storage_is_close_and_loads_as_float32(tmp_path, model):
    path = save_checkpoint(tmp_path / "h.pt", model, dtype="float16")
    loaded = load_checkpoint(path).model
    for a, b in zip(model.parameters(), loaded.parameters()):
        assert b.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
    x = torch.bernoulli(torch.full((4, 784), 0.2))
    torch.testing.assert_close(
        model.decode(model.encode(x).mean).base_dist.logits,
        loaded.decode(loaded.encode(x).mean).base_dist.logits,
        rtol=0,
        atol=2e-2,
    )


def test_int8_storage_rounds_each_row_to_half_its_scale(tmp_path, model):
    path = save_checkpoint(tmp_path / "q.pt", model, dtype="int8")
    raw = torch.load(path, weights_only=True)["state_dict"]
    assert (
        raw["encoder.0.weight"].dtype == torch.int8
        and raw["encoder.0.bias"].dtype == torch.float16
    )
    loaded = load_checkpoint(path).model
    for (name, a), b in zip(model.named_parameters(), loaded.parameters()):
        assert b.dtype == torch.float32
        if a.dim() >= 2:
            # |w - w_hat| <= scale / 2 per row, scale = max|w_row| / 127 (plus fp16
            # rounding of it)
            bound = a.abs().amax(1, keepdim=True) / 254 * 1.002 + 1e-7
            assert torch.all((a - b).abs() <= bound), name
        else:
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
    smaller = save_checkpoint(tmp_path / "h.pt", model, dtype="float16").stat().st_size
    assert path.stat().st_size < 0.75 * smaller


def test_corrupt_truncated_and_foreign_files_give_clear_errors(tmp_path, model):
    path = save_checkpoint(tmp_path / "m.pt", model)
    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    for name in ("trunc.pt", "junk.pt"):
        with pytest.raises(CheckpointError, match="corrupt or truncated"):
            load_checkpoint(tmp_path / name)
    with pytest.raises(CheckpointError, match="not a vaebook checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_weights_that_do_not_match_the_config_are_refused(tmp_path, model):
    path = save_checkpoint(tmp_path / "m.pt", model)
    payload = read_checkpoint(path)
    payload["model_config"]["fields"]["latent_dim"] = 7
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(tmp_path / "mismatch.pt")
    payload["model_config"]["name"] = "no-such-model"
    torch.save(payload, tmp_path / "unknown.pt")
    with pytest.raises(CheckpointError, match="unknown model"):
        load_checkpoint(tmp_path / "unknown.pt")


def test_a_failed_write_leaves_the_old_checkpoint_whole(tmp_path, model):
    path = save_checkpoint(tmp_path / "m.pt", model, metrics={"version": "old"})
    before = path.read_bytes()
    with pytest.raises(Exception):
        save_checkpoint(path, model, metrics={"unpicklable": lambda: None})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"], (
        "no temporary file is left behind"
    )
    with pytest.raises(ValueError, match="dtype"):
        save_checkpoint(path, model, dtype="int4")


def test_a_write_killed_midway_leaves_the_previous_checkpoint_whole(tmp_path, model):
    """A process SIGKILLed while torch.save is half done (the new file's first bytes
    written and flushed): the checkpoint at the path is still the old one, whole."""
    import signal
    import subprocess
    import sys
    import textwrap

    path = save_checkpoint(tmp_path / "m.pt", model, metrics={"version": "old"})
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, signal, torch
        from vaebook import checkpoints
        from vaebook.models import VAEConfig

        def half_then_killed(obj, f):
            f.write(b"PK" + b"x" * 5000)  # the start of a zip, never finished
            f.flush()
            os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        torch.save = half_then_killed
        model = VAEConfig(hidden=(32, 16), latent_dim=3).build()
        checkpoints.save_checkpoint({str(path)!r}, model, metrics={{"version": "new"}})
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=300
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    assert path.read_bytes() == before
    assert load_checkpoint(path).metrics == {"version": "old"}
    stray = [p for p in tmp_path.iterdir() if p != path]
    assert len(stray) == 1 and stray[0].name.startswith(".m.pt.")  # the killed temp


# --- stored as a difference from the checkpoint a run started from ------------------


def _trained_on(model, seed=1, step=0.001):
    """``model``'s weights moved a little, as fine-tuning moves them (mnist_vae_iwae's
    moved by about a fifteenth of their spread)."""
    torch.manual_seed(seed)
    moved = VAEConfig(hidden=(32, 16), latent_dim=3).build()
    moved.load_state_dict(
        {k: v + step * torch.randn_like(v) for k, v in model.state_dict().items()}
    )
    return moved


def test_a_difference_from_the_base_rounds_far_less_than_int8_weights(tmp_path, model):
    """save_difference: int8 differences from the base's weights (beside it in the
    folder): each weight within half its row's step of the difference (the bound of
    test_int8_storage), far closer than int8 weights, in fewer bytes than float16."""
    base = save_checkpoint(tmp_path / "base.pt", model, dtype="float16")
    moved = _trained_on(load_checkpoint(base).model)
    trained = save_checkpoint(
        tmp_path / "run.pt", moved, history=[{"epoch": 1}], metrics={"test": {"a": 1}}
    )
    cost = save_difference(tmp_path / "small.pt", trained, base)
    loaded = load_checkpoint(tmp_path / "small.pt")
    start = load_checkpoint(base).model.state_dict()
    int8 = load_checkpoint(save_checkpoint(tmp_path / "q.pt", moved, dtype="int8"))
    errors = []
    for (name, a), b, c in zip(
        moved.state_dict().items(),
        loaded.model.state_dict().values(),
        int8.model.state_dict().values(),
    ):
        if a.dim() >= 2:
            step = (a - start[name]).abs().amax(1, keepdim=True) / 254
            assert torch.all((a - b).abs() <= step * 1.002 + 1e-6), name
            errors.append(((a - b).abs().max(), (a - c).abs().max()))
        else:  # vectors: float16 differences
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    assert all(ours < 0.25 * theirs for ours, theirs in errors)
    assert cost["max_weight_error"] == pytest.approx(
        max(
            float((a - b).abs().max())
            for a, b in zip(
                moved.state_dict().values(), loaded.model.state_dict().values()
            )
        ),
        rel=1e-5,
    )
    assert loaded.history == [{"epoch": 1}] and loaded.metrics["test"]["a"] == 1
    assert loaded.metrics["test"]["storage"] == {
        "dtype": "int8",
        "difference_from": "base.pt",
        "max_weight_error": cost["max_weight_error"],
    }
    raw = read_checkpoint(tmp_path / "small.pt")
    assert raw["base"]["file"] == "base.pt" and raw["dtype"] == "int8"
    half = save_checkpoint(tmp_path / "h.pt", moved, dtype="float16").stat().st_size
    assert (tmp_path / "small.pt").stat().st_size < half


def test_a_difference_without_its_base_is_one_clear_error(tmp_path, model):
    """Its base missing or changed since (SHA-256), the base elsewhere, or the
    trained checkpoint still training: each refused with what to do."""
    base = save_checkpoint(tmp_path / "base.pt", model, dtype="float16")
    trained = save_checkpoint(tmp_path / "run.pt", _trained_on(model))
    save_difference(tmp_path / "small.pt", trained, base)
    save_checkpoint(base, _trained_on(model, seed=2), dtype="float16")  # retrained
    with pytest.raises(CheckpointError, match="base.pt, which has changed since"):
        load_checkpoint(tmp_path / "small.pt")
    base.unlink()
    with pytest.raises(CheckpointError, match="base.pt, which is missing"):
        load_checkpoint(tmp_path / "small.pt")
    other = save_checkpoint(tmp_path / "other" / "base.pt", model)
    with pytest.raises(ValueError, match="must lie in the folder"):
        save_difference(tmp_path / "small.pt", trained, other)
    busy = save_checkpoint(tmp_path / "busy.pt", model, resume={"epoch": 1})
    save_checkpoint(base, model)
    with pytest.raises(CheckpointError, match="still training"):
        save_difference(tmp_path / "small.pt", busy, base)
    torch.manual_seed(0)
    wider = VAEConfig(hidden=(33, 16), latent_dim=3).build()
    with pytest.raises(CheckpointError, match="another model"):
        save_difference(tmp_path / "small.pt", trained, save_checkpoint(base, wider))
