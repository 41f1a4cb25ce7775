"""Run records (vaebook.runs): a finished checkpoint summarized without its weights
reads back with the same configs, history and metrics; unfinished or misnamed ones
are refused."""

import gzip
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


def test_compressed_records_read_back_the_same_and_are_reproducible(finished, tmp_path):
    """A name ending in .json.gz writes gzip (the shipped records): the same runs as
    the plain file, in fewer bytes, byte for byte the same when written again; a
    damaged file is one clear error."""
    path = finished[0]
    plain = runs.write_runs([path], tmp_path / "r.json")
    packed = runs.write_runs([path], tmp_path / "r.json.gz")
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    assert runs.read_runs(packed) == runs.read_runs(plain)
    assert packed.stat().st_size < plain.stat().st_size
    again = runs.write_runs([path], tmp_path / "again" / "r.json.gz")
    assert again.read_bytes() == packed.read_bytes()  # no time stamp inside
    assert runs.main([str(tmp_path / "m.json.gz"), str(path)]) == 0
    (tmp_path / "bad.json.gz").write_bytes(packed.read_bytes()[:40])
    with pytest.raises(ValueError, match="not a readable runs file"):
        runs.read_runs(tmp_path / "bad.json.gz")


def test_the_shipped_records_are_compressed_and_found_by_name():
    """Every group's records ship as NAME.json.gz, which pretrained.runs finds."""
    from vaebook import pretrained, recipes

    for group in recipes.GROUPS.values():
        if group.records is not None:
            assert group.records.name.endswith(".json.gz"), group.records
            name = group.records.name.removesuffix(".json.gz")
            assert name in pretrained.shipped_runs()
            assert pretrained.runs(name)
    with pytest.raises(FileNotFoundError, match="shipped: .*estimators"):
        pretrained.runs("nothing")


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


def test_the_one_finished_check(finished, tmp_path):
    """runs.state: absent, unfinished (training state kept) or finished; summarize
    and the recipes' runner both ask it."""
    path, model, history, _ = finished
    assert runs.state(path) == "finished"
    assert runs.state(tmp_path / "none_seed0.pt") == "absent"
    partial = tmp_path / "bin_tiny_seed0.pt"
    config = TrainConfig(epochs=2, batch_size=20, device="cpu")
    save_checkpoint(partial, model, config, history, resume={"epoch": 1})
    assert runs.state(partial) == "unfinished"
    save_checkpoint(partial, model, config, history)  # no test metrics yet
    assert runs.state(partial) == "unfinished"


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


def test_int8_storage_only_where_it_costs_little():
    """`python -m vaebook.train ... --dtype int8` keeps int8 where it costs at most
    INT8_TOLERANCE nats of -ELBO, else float16: one large weight in a row sets that
    row's int8 scale and rounds its small weights to 0 (found on a 120-epoch f2 model,
    whose int8 copy lost 24 nats)."""
    from vaebook.train import INT8_TOLERANCE, rounding_cost, storage_dtype

    torch.manual_seed(0)
    prototypes = (torch.rand(4, 64) < 0.5).float()  # 4 kinds of image, 5 % noise
    flips = (torch.rand(200, 64) < 0.05).float()
    images = (prototypes[torch.arange(200) % 4] + flips) % 2
    images[:, 0] = 0  # pixel 0 is always off: a weight on it changes no output
    model = BinaryVAEConfig(hidden=(32,), latent_dim=8, data_dim=64).build()
    fit(model, TrainConfig(epochs=20, batch_size=20, device="cpu"), images, False)
    assert storage_dtype(model, images)[0] == "int8"
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.encoder[0].weight[:, 0] = 1000.0  # no effect in float32...
    cost = rounding_cost(model, images, "int8")  # ...but int8 rounds the rest to 0
    assert cost > INT8_TOLERANCE
    dtype, measured = storage_dtype(model, images)
    assert dtype == "float16" and measured["int8_cost"] == pytest.approx(cost)
    assert abs(rounding_cost(model, images, "float16")) < 0.05
    weights = model.state_dict()  # measuring left the model as it was
    unchanged = [k for k in before if "encoder.0" not in k]
    assert all(torch.equal(weights[k], before[k]) for k in unchanged)


def test_a_unit_activity_is_kept_as_its_count_of_active_units():
    """Records drop per-latent lists; the activity becomes the count that
    aggregate.unit_activity reads back, at Burda et al.'s threshold only."""
    from vaebook.aggregate import unit_activity

    rows = [
        {"epoch": 1, "test_activity": [0.5, 0.02, 0.01, 0.0], "test_kl_per_dim": [1.0]},
        {"epoch": 2, "test_activity": [0.5, 0.005, 0.0, 0.0]},
    ]
    compact = [runs._compact(row) for row in rows]
    assert compact == [
        {"epoch": 1, "test_active_units": 2},  # 0.01 itself is not above 0.01
        {"epoch": 2, "test_active_units": 1},
    ]
    assert unit_activity(compact) == unit_activity(rows) == [2, 1]
    with pytest.raises(ValueError, match="threshold"):
        unit_activity(compact, threshold=0.1)
