"""Run records (vaebook.runs): a finished checkpoint summarized without its weights
reads back with the same configs, history and metrics; unfinished or misnamed ones
are refused."""

import json

import pytest
import torch

from vaebook import runs
from vaebook.checkpoints import save_checkpoint
from vaebook.discrete_vae import BinaryVAEConfig
from vaebook.evaluation import evaluate
from vaebook.training import TrainConfig, fit


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A small binary VAE trained 2 epochs on random 8x8 images, saved as seed 3."""
    torch.manual_seed(0)
    images = (torch.rand(60, 64) < 0.3).float()
    model = BinaryVAEConfig(hidden=(16,), latent_dim=4, data_dim=64).build()
    config = TrainConfig(epochs=2, batch_size=20, seed=3, device="cpu")
    history = fit(model, config, images, images[:20])
    metrics = {"test": {**evaluate(model, images[:20], iw_samples=4), "command": "c"}}
    path = tmp_path_factory.mktemp("runs") / "bin_tiny_seed3.pt"
    save_checkpoint(path, model, config, history, metrics, command="python -m x")
    return path, model, history, metrics


def test_a_record_reads_back_what_the_checkpoint_holds(finished, tmp_path):
    path, model, history, metrics = finished
    out = runs.write_runs([path], tmp_path / "r.json")
    (run,) = runs.read_runs(out)
    assert (run.name, run.seed, run.command) == ("bin_tiny", 3, "python -m x")
    assert run.model_config == model.config
    assert run.train_config.epochs == 2 and run.train_config.batch_size == 20
    assert run.steps == 2 * 3 == history[-1]["step"]  # 60 images / batch 20, 2 epochs
    assert run.seconds == pytest.approx(sum(r["seconds"] for r in history), rel=1e-4)
    assert run.metrics["test"]["neg_elbo"] == pytest.approx(
        metrics["test"]["neg_elbo"], rel=1e-4
    )
    last = run.history[-1]
    assert last["test_neg_elbo"] == pytest.approx(history[-1]["test_neg_elbo"], 1e-4)
    assert not any(isinstance(v, list) for v in last.values())  # per-latent lists
    assert "command" not in run.metrics["test"]  # stored once, as run.command


def test_records_are_far_smaller_than_the_weights(finished, tmp_path):
    path = finished[0]
    out = runs.write_runs([path], tmp_path / "r.json")
    assert json.loads(out.read_text())["format"] == runs.FORMAT
    assert out.stat().st_size < path.stat().st_size


def test_an_unfinished_run_is_refused_or_skipped(finished, tmp_path):
    path, model, history, _ = finished
    partial = tmp_path / "bin_tiny_seed0.pt"
    config = TrainConfig(epochs=2, batch_size=20, seed=0, device="cpu")
    save_checkpoint(partial, model, config, history, resume={"epoch": 1})
    with pytest.raises(ValueError, match="unfinished run"):
        runs.summarize(partial)
    out = tmp_path / "r.json"
    assert runs.main([str(out), str(path), str(partial), "--skip-unfinished"]) == 0
    assert [r.seed for r in runs.read_runs(out)] == [3]


def test_bad_names_and_files_get_one_clear_error(finished, tmp_path, capsys):
    path = finished[0]
    misnamed = tmp_path / "tiny.pt"
    misnamed.write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="NAME_seedS.pt"):
        runs.summarize(misnamed)
    wrong_seed = tmp_path / "bin_tiny_seed4.pt"
    wrong_seed.write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="says seed 4, its config 3"):
        runs.summarize(wrong_seed)
    assert runs.main([str(tmp_path / "r.txt"), str(path)]) == 2
    assert runs.main([str(tmp_path / "r.json"), str(tmp_path / "none_seed0.pt")]) == 2
    assert "error: no checkpoint at" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a vaebook runs file"):
        runs.read_runs(tmp_path / "bad.json")
