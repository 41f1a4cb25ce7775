"""vaebook.train: the command line trains, writes and (with vaebook.evaluate) scores a
real checkpoint; its options are checked first; a killed run resumes exactly."""

import json
import os
import subprocess
import sys

import torch
from cli_errors import one_line_error

from vaebook.checkpoints import load_checkpoint


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=600
    )


def test_train_then_evaluate(tmp_path):
    out = tmp_path / "tiny.pt"
    result = run(
        "vaebook.train",
        "gaussian-vae",
        "--hidden",
        "32",
        "--latent-dim",
        "2",
        "--epochs",
        "1",
        "--train-limit",
        "1000",
        "--test-limit",
        "200",
        "--iw-samples",
        "20",
        "--eval-limit",
        "200",
        "--check-limit",
        "100",
        "--check-iw-samples",
        "10",
        "--device",
        "cpu",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    ckpt = load_checkpoint(out)
    assert ckpt.model_config.hidden == (32,) and ckpt.train_config.train_limit == 1000
    assert (
        ckpt.metrics["test"]["iw_nll"] == printed["iw_nll"]
        and ckpt.metrics["test"]["num_images"] == 200
    )
    assert "--hidden 32" in ckpt.metrics["test"]["command"]
    assert ckpt.metrics["check"]["num_images"] == 100
    assert printed["iw_nll"] <= printed["neg_elbo"] + 1.0
    result = run("vaebook.evaluate", str(out), "--iw-samples", "20", "--limit", "200")
    assert result.returncode == 0, result.stderr
    again = json.loads(result.stdout)
    assert abs(again["iw_nll"] - printed["iw_nll"]) < 1.0


def test_bad_input_gets_a_clear_message(tmp_path):
    result = run("vaebook.train", "no-such-model", "--out", str(tmp_path / "x.pt"))
    assert result.returncode == 2 and "gaussian-vae" in result.stderr
    result = run(
        "vaebook.train",
        "gaussian-vae",
        "--out",
        str(tmp_path / "x.pt"),
        "--binarization",
        "otsu",
    )
    assert result.returncode == 2 and "binarization must be one of" in result.stderr
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    result = run("vaebook.evaluate", str(tmp_path / "bad.pt"))
    assert result.returncode == 2 and "corrupt or truncated" in result.stderr


def test_help_prints_usage_and_exits_0():
    result = run("vaebook.train", "--help")
    assert result.returncode == 0, result.stderr
    assert "gaussian-vae" in result.stdout and "MODEL" in result.stdout


def test_train_options_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    from vaebook import train

    def no_training(*args, **kwargs):
        raise AssertionError("training started before the options were checked")

    monkeypatch.setattr(train, "fit", no_training)
    out = str(tmp_path / "x.pt")
    base = ["gaussian-vae", "--epochs", "1", "--train-limit", "100", "--out", out]
    one_line_error(
        capsys, train.main, base + ["--iw-samples", "0"], "--iw-samples", ">= 1"
    )
    one_line_error(
        capsys, train.main, base + ["--eval-limit", "0"], "--eval-limit", ">= 1"
    )
    one_line_error(
        capsys, train.main, base + ["--train-limit", "0"], "train_limit", ">= 1"
    )
    one_line_error(
        capsys, train.main, base + ["--data-dim", "100"], "data_dim=100", "784"
    )
    one_line_error(capsys, train.main, base + ["--lr", "nan"], "--lr", "finite")
    cat = ["categorical-vae", "--out", out]
    one_line_error(
        capsys, train.main, cat + ["--temperature", "nan"], "temperature", "finite"
    )
    one_line_error(capsys, train.main, cat + ["--temperature", "inf"], "temperature")
    one_line_error(
        capsys, train.main, cat + ["--temperature", "0"], "temperature", "> 0"
    )
    binary = ["binary-vae", "--estimator", "smoothing-f1", "--out", out]
    one_line_error(
        capsys, train.main, binary + ["--sharpness", "-1"], "sharpness", "> 0"
    )
    rloo = ["binary-vae", "--estimator", "rloo", "--out", out]
    one_line_error(
        capsys,
        train.main,
        rloo + ["--estimator-samples", "1"],
        "estimator_samples",
        "integer >= 2",
    )
    one_line_error(
        capsys,
        train.main,
        ["categorical-vae", "--estimator", "disarm", "--out", out],
        "estimator must be one of",
    )
    (tmp_path / "a_file").write_text("")
    one_line_error(
        capsys,
        train.main,
        base[:-1] + [str(tmp_path / "a_file" / "x.pt")],
        "--out",
        "cannot write",
    )
    one_line_error(capsys, train.main, base[:-1] + [str(tmp_path)], "--out", "folder")
    monkeypatch.setenv("VAEBOOK_DATA", str(tmp_path / "empty"))
    one_line_error(capsys, train.main, base, "VAEBOOK_DATA", "MNIST train")


# --- resuming (issue 10, section 2) ---------------------------------------------------
RESUMABLE = [
    "gaussian-vae",
    "--hidden",
    "32",
    "--latent-dim",
    "4",
    "--epochs",
    "3",
    "--train-limit",
    "3000",
    "--test-limit",
    "200",
    "--batch-size",
    "25",
    "--lr-schedule",
    "cosine",
    "--beta-warmup",
    "0.5",
    "--iw-samples",
    "10",
    "--eval-limit",
    "100",
    "--check-limit",
    "50",
    "--check-iw-samples",
    "5",
    "--device",
    "cpu",
]


def without_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


# The run to kill: vaebook.train as is, but the process SIGKILLs itself just before the
# optimizer step number argv[1], so the kill lands mid-epoch whatever the load.
KILLED_RUN = """
import os, signal, sys
import torch
from vaebook import train
kill_at, steps, step = int(sys.argv[1]), [0], torch.optim.Adam.step
def counted(self, *args, **kwargs):
    steps[0] += 1
    if steps[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return step(self, *args, **kwargs)
torch.optim.Adam.step = counted
sys.exit(train.main(sys.argv[2:]))
"""
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}  # fast on a shared CPU


def test_a_run_killed_mid_epoch_and_resumed_ends_as_if_never_interrupted(tmp_path):
    """SIGKILL half-way through epoch 2, then the same command with --resume: the final
    checkpoint's history, weights and test metrics equal those of a run never
    interrupted, exactly."""
    import signal

    def train(*extra, script=None):
        head = ["-c", script] if script else ["-m", "vaebook.train"]
        return subprocess.run(
            [sys.executable, *head, *extra],
            capture_output=True,
            text=True,
            timeout=600,
            env=ONE_THREAD,
            check=False,
        )

    whole = tmp_path / "whole.pt"
    result = train(*RESUMABLE, "--out", str(whole))
    assert result.returncode == 0, result.stderr
    reference = load_checkpoint(whole)
    assert reference.resume is None, "the final checkpoint keeps no training state"

    out, per_epoch = tmp_path / "killed.pt", 3000 // 25
    result = train(
        str(per_epoch * 3 // 2), *RESUMABLE, "--out", str(out), script=KILLED_RUN
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    killed = load_checkpoint(out)  # whole, and resumable from the end of epoch 1
    assert killed.resume is not None and killed.resume["step"] == per_epoch
    assert len(killed.history) == 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    result = train(*RESUMABLE, "--out", str(out), "--resume", str(out))
    assert result.returncode == 0, result.stderr
    resumed = load_checkpoint(out)
    assert without_seconds(resumed.history) == without_seconds(reference.history)
    for (name, a), b in zip(
        reference.model.state_dict().items(), resumed.model.state_dict().values()
    ):
        assert torch.equal(a, b), name
    for part in ("test", "check"):
        assert {k: v for k, v in resumed.metrics[part].items() if k != "command"} == {
            k: v for k, v in reference.metrics[part].items() if k != "command"
        }
    # the command recorded is the one that started the run, not the resuming one
    assert resumed.command == resumed.metrics["test"]["command"]
    assert f"--out {out}" in resumed.command and "--resume" not in resumed.command
    assert reference.command.startswith("python -m vaebook.train gaussian-vae --hidden")


def test_resume_from_another_config_or_a_final_checkpoint_is_refused(tmp_path):
    from vaebook.checkpoints import save_checkpoint
    from vaebook.models import VAEConfig
    from vaebook.training import TrainConfig, fit

    options = [
        "--hidden",
        "16",
        "--latent-dim",
        "2",
        "--epochs",
        "2",
        "--train-limit",
        "500",
        "--test-limit",
        "100",
        "--iw-samples",
        "5",
        "--eval-limit",
        "50",
        "--check-limit",
        "0",
        "--device",
        "cpu",
    ]
    path = tmp_path / "run.pt"
    model = VAEConfig(hidden=(16,), latent_dim=2).build()
    config = TrainConfig(epochs=2, train_limit=500, test_limit=100, device="cpu")

    def stop_after_one(history, state):
        save_checkpoint(
            path,
            model,
            config,
            history,
            command="python -m vaebook.train gaussian-vae " + " ".join(options),
            resume=state,
        )
        raise KeyboardInterrupt

    try:
        fit(model, config, on_epoch=stop_after_one)
    except KeyboardInterrupt:
        pass
    out = str(tmp_path / "out.pt")
    for argv, message in [
        (
            ["gaussian-vae", *options, "--latent-dim", "3"],
            "latent_dim: 2 in the checkpoint, 3",
        ),
        (
            ["gaussian-vae", *options, "--lr", "0.01"],
            "lr: 0.001 in the checkpoint, 0.01",
        ),
        (["binary-vae", *options], "model gaussian-vae in the checkpoint"),
    ]:
        result = run("vaebook.train", *argv, "--out", out, "--resume", str(path))
        assert result.returncode == 2, result.stderr
        assert message in result.stderr, result.stderr
        assert "--hidden 16" in result.stderr, result.stderr  # the command to rerun
    same = ["vaebook.train", "gaussian-vae", *options, "--out", out]
    result = run(*same, "--resume", str(path))
    assert result.returncode == 0, result.stderr  # the same options finish the run
    result = run(*same, "--resume", out)
    assert result.returncode == 2 and "holds no training state" in result.stderr
    result = run(*same, "--resume", str(tmp_path / "missing.pt"))
    assert result.returncode == 2 and "no checkpoint at" in result.stderr


def test_one_seed_rule_for_the_test_images_and_the_initial_weights(
    tmp_path, monkeypatch, capsys
):
    """vaebook.train and vaebook.evaluate score a run of seed 5 on the test images
    binarized with seed 0 (as fit and the records do), and two runs with the same
    seed in one process start from the same weights and end with the same ones."""
    from vaebook import evaluate, train
    from vaebook.data import BinarizedMNIST
    from vaebook.evaluation import evaluate as real_evaluate

    scored = []

    def spy(model, data, **kwargs):
        scored.append(data.fixed())
        return real_evaluate(model, data, **kwargs)

    monkeypatch.setattr(train, "evaluate", spy)
    monkeypatch.setattr(evaluate, "evaluate", spy)
    tiny = ["gaussian-vae", "--hidden", "8", "--latent-dim", "2", "--seed", "5"]
    tiny += ["--max-steps", "3", "--train-limit", "300", "--test-limit", "30"]
    tiny += ["--iw-samples", "2", "--eval-limit", "30", "--check-limit", "0"]
    tiny += ["--device", "cpu"]
    assert train.main([*tiny, "--out", str(tmp_path / "a.pt")]) == 0
    torch.rand(100)  # the global random state moves between the two runs
    assert train.main([*tiny, "--out", str(tmp_path / "b.pt")]) == 0
    limit = ["--limit", "30", "--iw-samples", "2", "--device", "cpu"]
    assert evaluate.main([str(tmp_path / "a.pt"), *limit]) == 0
    capsys.readouterr()
    seed0 = BinarizedMNIST.load("test", "dynamic", 0, limit=30).fixed()
    seed5 = BinarizedMNIST.load("test", "dynamic", 5, limit=30).fixed()
    assert not torch.equal(seed0, seed5)
    assert len(scored) == 3 and all(torch.equal(x, seed0) for x in scored)
    a, b = (load_checkpoint(tmp_path / f"{n}.pt") for n in "ab")
    assert a.history[-1]["step"] == 3
    for (name, wa), wb in zip(
        a.model.state_dict().items(), b.model.state_dict().values()
    ):
        assert torch.equal(wa, wb), name
