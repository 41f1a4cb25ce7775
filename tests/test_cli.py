"""The command lines train, write and evaluate a real checkpoint."""

import json
import subprocess
import sys

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


def one_line_error(capsys, main, argv, *needles):
    """``main(argv)`` exits 2 before any work, with one line ``error: ...`` that
    names each of ``needles``."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    for needle in needles:
        assert needle in err, err


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
        capsys, train.main, binary + ["--smoothing-beta", "-1"], "smoothing", "> 0"
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


def test_evaluate_options_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    from vaebook import evaluate
    from vaebook.checkpoints import save_checkpoint
    from vaebook.models import VAEConfig

    ckpt = tmp_path / "tiny.pt"
    save_checkpoint(ckpt, VAEConfig(hidden=(8,), latent_dim=2).build())
    one_line_error(
        capsys, evaluate.main, [str(ckpt), "--iw-samples", "0"], "--iw-samples", ">= 1"
    )
    one_line_error(
        capsys, evaluate.main, [str(ckpt), "--limit", "0"], "--limit", ">= 1"
    )
    monkeypatch.setenv("VAEBOOK_DATA", str(tmp_path / "empty"))
    one_line_error(capsys, evaluate.main, [str(ckpt)], "VAEBOOK_DATA", "MNIST test")
