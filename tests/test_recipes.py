"""The recipes (vaebook.recipes): each shipped checkpoint and record was made by the
command its recipe runs today; every recipe's options parse; a recipe trains by
name (a tiny variant, with overrides) and records its own command; groups run,
skip finished runs and ship only when finished."""

import dataclasses
import shlex

import pytest
import torch

from vaebook import pretrained, recipes, runs, train
from vaebook.checkpoints import load_checkpoint, read_checkpoint, save_checkpoint
from vaebook.evaluate import load_test_set
from vaebook.experiments import comparison
from vaebook.models import VAEConfig
from vaebook.registry import CONFIGS
from vaebook.training import TrainConfig


def without_out(command: str) -> list[str]:
    """The words of ``command`` less ``--out PATH`` (where a run was written)."""
    words = shlex.split(command)
    i = words.index("--out")
    return words[:i] + words[i + 2 :]


def stored_seed(recipe, seed: int) -> int | None:
    return seed if recipe.seeds is not None else None


@pytest.mark.parametrize("name", pretrained.available())
def test_every_shipped_checkpoint_is_what_its_recipe_runs(name):
    recipe = recipes.get(name)
    payload = read_checkpoint(pretrained.path(name))
    seed = stored_seed(recipe, payload["train_config"]["seed"])
    stored = [payload.get("command"), payload["metrics"]["test"]["command"]]
    for command in filter(None, stored):  # both copies, where there are two
        assert without_out(recipe.command(seed)) == without_out(command)
    assert recipe.ships or recipes.GROUPS[recipe.group].records is None


@pytest.mark.parametrize(
    "group", [name for name, group in recipes.GROUPS.items() if group.records]
)
def test_every_shipped_record_is_what_its_recipe_runs(group):
    records = pretrained.runs(group)
    assert {r.name for r in records} == {r.name for r in recipes.in_group(group)}
    for record in records:
        recipe = recipes.get(record.name)
        assert recipe.group == group
        seed = stored_seed(recipe, record.seed)
        assert without_out(recipe.command(seed)) == without_out(record.command)
        assert record.seed in (recipe.seeds or (0,))


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_every_recipe_parses_into_its_configs(name, tmp_path):
    recipe = recipes.get(name)
    model, options = train.parse(recipe.argv(0, tmp_path / "x.pt"))
    assert model == recipe.model
    config = train.from_options(CONFIGS[model], options)
    assert train.from_options(TrainConfig, options).seed == 0
    assert config.build() is not None


def test_labels_have_one_source():
    assert comparison.LABELS == recipes.labels("estimators")
    assert len(comparison.LABELS) == 17
    assert comparison.LABELS["bin_straight_through"] == "straight-through"
    assert len(set(comparison.LABELS.values())) == 17


def test_outputs_and_overrides():
    f1 = recipes.get("bin_f1")
    assert str(f1.out(1)) == "runs/estimators/bin_f1_seed1.pt"
    assert recipes.get("mnist_vae").out() == recipes.PACKAGE_FOLDER / "mnist_vae.pt"
    argv = f1.argv(1, "a.pt", ["--epochs", "2", "--train-limit", "50"])
    assert argv[argv.index("--epochs") + 1] == "2" and argv.count("--epochs") == 1
    assert argv[-6:] == ["--train-limit", "50", "--seed", "1", "--out", "a.pt"]
    hidden = recipes.with_overrides(
        ("--hidden", "512", "256", "--a"), ("--hidden", "8")
    )
    assert hidden == ["--hidden", "8", "--a"]
    assert [r.name for r in recipes.resolve(["vq", "vq_ema"])][:1] == ["vq_ema"]
    with pytest.raises(KeyError, match="no recipe 'nope'"):
        recipes.get("nope")


TINY = ["--epochs", "1", "--train-limit", "200", "--test-limit", "100"]
TINY += ["--iw-samples", "2", "--eval-limit", "50", "--check-limit", "0"]
TINY += ["--device", "cpu", "--dtype", "float16", "--hidden", "32", "16"]


def test_a_recipe_trains_by_name_and_records_its_command(tmp_path, capsys):
    """A tiny variant of bin_f1 (overrides), trained by name: the checkpoint's command
    is the recipe's with the overrides; --resume then leaves the finished run."""
    out = tmp_path / "bin_f1_seed3.pt"
    argv = ["--recipe", "bin_f1", "--seed", "3", "--out", str(out), *TINY]
    assert train.main(argv) == 0
    payload = read_checkpoint(out)
    recipe = recipes.get("bin_f1")
    expected = "python -m vaebook.train " + shlex.join(recipe.argv(3, out, TINY))
    assert payload["command"] == expected == payload["metrics"]["test"]["command"]
    assert payload["train_config"]["seed"] == 3 and runs.state(out) == "finished"
    before = out.stat().st_mtime_ns
    capsys.readouterr()
    assert train.main([*argv, "--resume"]) == 0
    assert "finished run, nothing to do" in capsys.readouterr().out
    assert out.stat().st_mtime_ns == before


def test_list_and_bad_names(capsys):
    assert train.main(["--list-recipes"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(recipes.RECIPES) and listed[0].startswith("mnist_vae ")
    assert train.main(["--recipe", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no recipe 'nope'") and "\n" not in err
    assert recipes.main(["run", "nope"]) == 2
    assert recipes.main(["list", "estimators"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 17


def finished_run(path, seed=0):
    """A finished checkpoint of a tiny model at ``path``."""
    from vaebook.models import VAEConfig

    model = VAEConfig(hidden=(4,), latent_dim=2, data_dim=16).build()
    config = TrainConfig(epochs=1, seed=seed, device="cpu")
    metrics = {"test": {"neg_elbo": 1.0}}
    save_checkpoint(
        path,
        model,
        config,
        [{"epoch": 1, "step": 1, "seconds": 0.1}],
        metrics,
        command="python -m vaebook.train x",
    )


def test_a_group_run_skips_finished_runs(tmp_path, capsys):
    finished_run(tmp_path / "bin_f1_seed0.pt")
    argv = ["run", "bin_f1", "bin_f2", "--seeds", "0", "--resume", "--dry-run"]
    assert recipes.main([*argv, "--out-dir", str(tmp_path), "--epochs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("== bin_f1 seed 0: finished, skipped")
    assert lines[1] == (
        "python -m vaebook.train --recipe bin_f2 --seed 0 --out "
        f"{tmp_path / 'bin_f2_seed0.pt'} --resume --epochs 1"
    )
    assert len(lines) == 2


def test_a_recipe_ships_as_its_difference_from_its_base(tmp_path, monkeypatch):
    """difference_from: the shipped file holds int8 differences from the base beside
    it, and records what that storage cost: the -ELBO's change on the first 1,000
    test images with the same draws, as train.weights_cost measures it directly."""
    monkeypatch.setattr(recipes, "PACKAGE_FOLDER", tmp_path)
    torch.manual_seed(0)
    model = VAEConfig(hidden=(32, 16), latent_dim=3).build()
    save_checkpoint(tmp_path / "base_vae.pt", model, TrainConfig(), dtype="float16")
    start = load_checkpoint(tmp_path / "base_vae.pt").model
    moved = VAEConfig(hidden=(32, 16), latent_dim=3).build()
    moved.load_state_dict(
        {k: v + 1e-3 * torch.randn_like(v) for k, v in start.state_dict().items()}
    )
    trained = save_checkpoint(tmp_path / "run" / "r.pt", moved, TrainConfig())
    recipe = dataclasses.replace(
        recipes.get("mnist_vae_iwae"), name="tiny", difference_from="base_vae"
    )
    shipped = load_checkpoint(recipes.ship_weights(recipe, trained))
    storage = shipped.metrics["test"]["storage"]
    assert storage["difference_from"] == "base_vae.pt" and storage["images"] == 1000
    images = load_test_set("dynamic", limit=1000)
    direct = train.weights_cost(moved, shipped.model.state_dict(), images)
    assert storage["neg_elbo_cost"] == pytest.approx(direct, abs=1e-4)
    assert abs(direct) < 0.01  # nats: the rounding of differences costs ~nothing


def test_ship_refuses_an_unfinished_group(tmp_path):
    with pytest.raises(ValueError, match="headline is not finished"):
        recipes.ship("headline", tmp_path)
    with pytest.raises(ValueError, match="trains straight into"):
        recipes.ship("vq")


def test_a_group_run_trains_in_processes_and_logs(tmp_path, monkeypatch):
    """recipes.run with jobs > 1: each run in its own process, its output in
    runs/logs/; a second run with resume skips it (finished)."""
    from pathlib import Path

    import vaebook

    root = str(Path(vaebook.__file__).parent.parent)
    monkeypatch.setenv("PYTHONPATH", root)
    monkeypatch.chdir(tmp_path)
    chosen = recipes.resolve(["bin_f1"])
    failed = recipes.run(chosen, [4], True, tuple(TINY), jobs=2, folder="out")
    assert failed == 0, (tmp_path / "runs/logs/bin_f1_seed4.log").read_text()
    assert runs.state(tmp_path / "out/bin_f1_seed4.pt") == "finished"
    assert "checkpoint" in (tmp_path / "runs/logs/bin_f1_seed4.log").read_text()
    assert recipes.run(chosen, [4], True, tuple(TINY), folder="out") == 0


def test_recipe_resume_continues_only_an_unfinished_run(tmp_path):
    """--recipe NAME --resume: absent starts, unfinished continues (--resume CKPT),
    finished does nothing; without --resume the run starts afresh."""
    import torch

    out = tmp_path / "bin_f1_seed0.pt"
    words = ["bin_f1", "--seed", "0", "--out", str(out)]
    fresh = recipes.get("bin_f1").argv(0, out)
    assert train.recipe_argv([*words, "--resume"]) == fresh  # absent
    finished_run(out)
    assert train.recipe_argv([*words, "--resume"]) is None  # finished
    assert train.recipe_argv(words) == fresh
    payload = torch.load(out, weights_only=True)
    payload["resume"] = {"epoch": 1}
    torch.save(payload, out)
    resumed = train.recipe_argv([*words, "--resume"])
    assert resumed == [*fresh, "--resume", str(out)]
    assert train.without_resume(resumed) == fresh
