"""The command lines train, write and evaluate a real checkpoint."""
import json
import subprocess
import sys

from vaebook.checkpoints import load_checkpoint


def run(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=600)


def test_train_then_evaluate(tmp_path):
    out = tmp_path / "tiny.pt"
    result = run("vaebook.train", "gaussian-vae", "--hidden", "32", "--latent-dim", "2", "--epochs", "1",
                 "--train-limit", "1000", "--test-limit", "200", "--iw-samples", "20", "--eval-limit", "200",
                 "--check-limit", "100", "--check-iw-samples", "10", "--device", "cpu", "--out", str(out))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    ckpt = load_checkpoint(out)
    assert ckpt.model_config.hidden == (32,) and ckpt.train_config.train_limit == 1000
    assert ckpt.metrics["test"]["iw_nll"] == printed["iw_nll"] and ckpt.metrics["test"]["num_images"] == 200
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
    result = run("vaebook.train", "gaussian-vae", "--out", str(tmp_path / "x.pt"), "--binarization", "otsu")
    assert result.returncode == 2 and "binarization must be one of" in result.stderr
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    result = run("vaebook.evaluate", str(tmp_path / "bad.pt"))
    assert result.returncode == 2 and "corrupt or truncated" in result.stderr
