"""vaebook.evaluate: the command line checks its options before any work."""

from cli_errors import one_line_error


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
