"""The trainer: reproducible, learning, validating its configuration."""

import pytest
import torch

from vaebook.data import BinarizedMNIST
from vaebook.models import VAEConfig
from vaebook.objectives import elbo
from vaebook.training import (
    TrainConfig,
    TrainState,
    column,
    elbo_objective,
    fit,
    resolve_device,
)


@pytest.fixture(scope="module")
def data():
    return BinarizedMNIST.load("train", limit=2000), BinarizedMNIST.load(
        "test", limit=500
    )


def small_fit(data, seed=0, epochs=2, **kwargs):
    torch.manual_seed(seed)
    model = VAEConfig(hidden=(64,), latent_dim=4).build()
    history = fit(
        model,
        TrainConfig(epochs=epochs, batch_size=100, seed=seed, device="cpu", **kwargs),
        *data,
    )
    return model, history


def drop_time(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def test_same_seed_same_history_on_cpu(data):
    _, h1 = small_fit(data)
    _, h2 = small_fit(data)
    _, h3 = small_fit(data, seed=1)
    assert drop_time(h1) == drop_time(h2)
    assert drop_time(h1) != drop_time(h3)


def test_history_has_every_term_and_the_model_learns(data):
    model, history = small_fit(data, epochs=4)
    row = history[-1]
    for key in (
        "train_neg_elbo",
        "train_log_px_given_z",
        "train_kl",
        "test_neg_elbo",
        "test_kl",
        "seconds",
    ):
        assert key in row
    assert len(row["test_kl_per_dim"]) == 4
    assert abs(sum(row["test_kl_per_dim"]) - row["test_kl"]) < 1e-3 * row["test_kl"]
    assert (
        abs(row["test_neg_elbo"] - (-row["test_log_px_given_z"] + row["test_kl"]))
        < 1e-3
    )
    neg = column(history, "test_neg_elbo")
    assert neg[-1] < neg[0] - 5
    assert not model.training
    with pytest.raises(KeyError, match="recorded metrics"):
        column(history, "test_nll")


def test_kl_weight_is_per_example_and_warms_up(data):
    torch.manual_seed(0)
    model = VAEConfig(hidden=(32,), latent_dim=3).build()
    x = data[0].fixed()[:50]
    config = TrainConfig(beta=0.5, beta_warmup=0.5)
    state = TrainState(config, step=25, total_steps=100)
    assert state.beta == pytest.approx(0.25)
    assert TrainState(config, step=80, total_steps=100).beta == pytest.approx(0.5)
    torch.manual_seed(3)
    loss = elbo_objective(model, x, state)["loss"]
    torch.manual_seed(3)
    terms = elbo(model, x)
    # beta multiplies the per-example KL; the batch mean is taken once: no dataset-size
    # factor
    torch.testing.assert_close(loss, -(terms.log_px_given_z - 0.25 * terms.kl).mean())


def test_kl_weight_is_held_at_zero_before_its_warm_up():
    """beta_hold: beta = 0 for that fraction of the steps, then the warm-up ramps it
    over beta_warmup (its clock starting after the hold)."""
    config = TrainConfig(beta=0.5, beta_hold=0.2, beta_warmup=0.4)
    betas = [TrainState(config, step=s, total_steps=100).beta for s in (0, 19, 20)]
    assert betas == [0.0, 0.0, 0.0]
    assert TrainState(config, step=40, total_steps=100).beta == pytest.approx(0.25)
    assert TrainState(config, step=60, total_steps=100).beta == pytest.approx(0.5)
    held = TrainConfig(beta_hold=0.5)  # no warm-up: full weight once the hold ends
    assert TrainState(held, step=49, total_steps=100).beta == 0.0
    assert TrainState(held, step=50, total_steps=100).beta == 1.0


def test_cosine_schedule_reaches_zero_and_warmup_changes_beta(data):
    _, history = small_fit(data, epochs=2, lr_schedule="cosine", beta_warmup=1.0)
    assert history[0]["lr"] == pytest.approx(5e-4, rel=1e-6) and history[-1][
        "lr"
    ] == pytest.approx(0, abs=1e-12)
    assert history[0]["beta"] == pytest.approx(0.5) and history[-1][
        "beta"
    ] == pytest.approx(1.0)


def test_time_limit_stops_training_and_runs_the_schedules_to_their_end(data):
    """A tiny budget ends training after the first epoch, with the cosine rate at 0 and
    the warm-up done."""
    _, history = small_fit(
        data, epochs=50, lr_schedule="cosine", beta_warmup=0.5, time_limit=1e-3
    )
    assert len(history) == 1
    assert history[0]["lr"] == pytest.approx(0, abs=1e-12) and history[0][
        "beta"
    ] == pytest.approx(1.0)
    state = TrainState(TrainConfig(time_limit=10.0), total_steps=100, started=None)
    assert state.progress == 0.0  # not started: by steps only


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("epochs", 0, "epochs"),
        ("lr", -1.0, "lr"),
        ("beta", -0.1, "KL weight"),
        ("binarization", "otsu", "binarization"),
        ("lr_schedule", "step", "lr_schedule"),
        ("device", "tpu", "device"),
        ("beta_warmup", 2.0, "fraction"),
        ("beta_hold", 1.0, "fraction"),
        ("beta_hold", -0.1, "fraction"),
        ("time_limit", 0.0, "time_limit"),
    ],
)
def test_bad_config_is_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_device_choice():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert resolve_device().type == expected


def test_a_models_own_objective_is_used(data):
    """A model with an ``objective(x, state)`` method trains on it (here: the ELBO plus
    a logged term)."""
    from vaebook.models import GaussianVAE

    class Logged(GaussianVAE):
        calls = 0

        def objective(self, x, state):
            Logged.calls += 1
            out = elbo_objective(self, x, state)
            return {**out, "mean_pixel": x.mean(-1)}

    torch.manual_seed(0)
    model = Logged(VAEConfig(hidden=(32,), latent_dim=3))
    history = fit(model, TrainConfig(epochs=1, batch_size=500, device="cpu"), *data)
    assert Logged.calls == 4 + 1  # 2000/500 training batches, then one test batch
    assert abs(history[0]["test_mean_pixel"] - data[1].fixed().mean().item()) < 1e-5


# --- resuming (issue 10, section 2) ---------------------------------------------------
class Interrupted(Exception):
    pass


@pytest.mark.parametrize("kind", ["gaussian", "binary-annealed", "score-function"])
def test_an_interrupted_run_resumed_has_the_same_history(data, tmp_path, kind):
    """Stopped after epoch 1 (its checkpoint written), reloaded from disk, resumed: the
    history and the weights match a run never stopped, exactly (CPU). Cosine rate,
    KL warm-up and an annealed smoothing beta check the schedules; the score-function
    estimator's running baseline is a buffer of the model."""
    from vaebook.checkpoints import load_checkpoint, save_checkpoint
    from vaebook.discrete_vae import BinaryVAEConfig

    if kind == "gaussian":
        model_config = VAEConfig(hidden=(64,), latent_dim=4)
    elif kind == "binary-annealed":
        model_config = BinaryVAEConfig(
            hidden=(32,),
            latent_dim=8,
            estimator="smoothing-f2",
            sharpness=10.0,
            sharpness_start=1.0,
            sharpness_anneal="geometric",
        )
    else:
        model_config = BinaryVAEConfig(
            hidden=(32,), latent_dim=8, estimator="score-function"
        )
    config = TrainConfig(
        epochs=3,
        batch_size=200,
        seed=3,
        device="cpu",
        lr_schedule="cosine",
        beta_warmup=0.5,
    )

    torch.manual_seed(config.seed)
    whole_model = model_config.build()
    whole = fit(whole_model, config, *data)

    path, steps = tmp_path / "run.pt", []
    torch.manual_seed(config.seed)
    stopped = model_config.build()

    def save_then_stop(history, state):
        save_checkpoint(path, stopped, config, history, resume=state)
        steps.append(state["step"])
        if len(history) == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        fit(stopped, config, *data, on_epoch=save_then_stop)
    assert steps == [10]  # 2,000 images / 200 per batch, one epoch
    torch.manual_seed(12345)  # whatever the generators hold now, resuming restores them
    ckpt = load_checkpoint(path)
    assert ckpt.resume["epoch"] == 1 and len(ckpt.resume["history"]) == 1
    resumed = fit(ckpt.model, config, *data, resume=ckpt.resume)
    assert drop_time(resumed) == drop_time(whole)
    for (name, a), b in zip(
        whole_model.state_dict().items(), ckpt.model.state_dict().values()
    ):
        assert torch.equal(a, b), name


def test_resuming_a_finished_run_trains_nothing_and_another_length_is_refused(
    data, tmp_path
):
    from vaebook.checkpoints import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    model = VAEConfig(hidden=(16,), latent_dim=2).build()
    config = TrainConfig(epochs=2, batch_size=500, device="cpu")
    fit(
        model,
        config,
        *data,
        on_epoch=lambda history, state: save_checkpoint(
            tmp_path / "m.pt", model, config, history, resume=state
        ),
    )
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt.resume["finished"] and ckpt.resume["epoch"] == 2
    again = fit(ckpt.model, config, *data, resume=ckpt.resume)  # finished: nothing runs
    assert drop_time(again) == drop_time(ckpt.history)
    with pytest.raises(ValueError, match="steps in all"):
        fit(
            ckpt.model,
            TrainConfig(epochs=2, batch_size=250, device="cpu"),
            *data,
            resume=ckpt.resume,
        )


# --- the one loop: step budget, callback, time limit, logging windows (issue 17) ------
def tiny_model(seed=0):
    torch.manual_seed(seed)
    return VAEConfig(hidden=(16,), latent_dim=2).build()


def test_max_steps_is_a_step_budget_the_schedules_run_over(data):
    """20 batches per epoch, a budget of 30 steps: training stops inside epoch 2, the
    cosine rate reaches 0 and the warm-up ends at step 30, not at epochs x batches."""
    config = TrainConfig(
        epochs=5,
        batch_size=100,
        device="cpu",
        max_steps=30,
        lr_schedule="cosine",
        beta_warmup=1.0,
    )
    history = fit(tiny_model(), config, *data)
    assert history.stopped == "max_steps"
    assert [row["step"] for row in history] == [20, 30]
    assert history[-1]["lr"] == pytest.approx(0, abs=1e-12)
    assert history[-1]["beta"] == pytest.approx(1.0)
    assert history[0]["beta"] == pytest.approx(20 / 30)
    assert "test_neg_elbo" in history[-1]  # the partial epoch is evaluated too
    finished = fit(tiny_model(), TrainConfig(epochs=1, device="cpu"), *data)
    assert finished.stopped == "finished"


def test_callback_sees_every_step_and_can_stop_training(data):
    seen = []

    def callback(state, out):
        assert not out["loss"].requires_grad and out["neg_elbo"].shape == (100,)
        seen.append((state.step, float(out["neg_elbo"].mean())))
        return state.step == 7

    config = TrainConfig(epochs=3, batch_size=100, device="cpu")
    states = []
    history = fit(
        tiny_model(),
        config,
        *data,
        callback=callback,
        on_epoch=lambda history, state: states.append(state),
    )
    assert [step for step, _ in seen] == list(range(1, 8))
    assert history.stopped == "callback" and len(history) == 1
    assert history[0]["step"] == 7
    mean = sum(value for _, value in seen) / 7  # equal batches: the mean of means
    assert history[0]["train_neg_elbo"] == pytest.approx(mean, rel=1e-5)
    assert states[-1]["stopped"] == "callback" and states[-1]["finished"]


def test_a_time_limit_with_a_step_budget_stops_inside_the_epoch(data):
    config = TrainConfig(
        epochs=3, batch_size=100, device="cpu", max_steps=1000, time_limit=1e-6
    )
    history = fit(tiny_model(), config, *data)
    assert history.stopped == "time_limit"
    assert history[-1]["step"] == 1  # the first step already reaches the limit
    without_budget = TrainConfig(
        epochs=3, batch_size=100, device="cpu", time_limit=1e-6
    )
    history = fit(tiny_model(), without_budget, *data)
    assert history.stopped == "time_limit" and history[-1]["step"] == 20  # one epoch


def test_log_every_writes_windows_and_tests_once_at_the_end(data):
    """Rows every 12 steps (windows cross epochs, the last one is partial); their
    means are those of the steps in them; the test pass only in the last row; the
    same run with epoch rows trains the same weights."""
    per_step = []
    config = TrainConfig(epochs=2, batch_size=100, device="cpu", log_every=12)
    model = tiny_model()
    history = fit(
        model,
        config,
        *data,
        callback=lambda state, out: per_step.append(float(out["kl"].mean())),
    )
    assert [row["step"] for row in history] == [12, 24, 36, 40]
    assert history.stopped == "finished"
    for row, start in zip(history, (0, 12, 24, 36)):
        window = per_step[start : row["step"]]
        assert row["train_kl"] == pytest.approx(sum(window) / len(window), rel=1e-5)
        assert {"step", "seconds", "lr", "beta"} <= set(row)
    assert [any(k.startswith("test_") for k in row) for row in history] == [
        False
    ] * 3 + [True]
    windows, by_epoch = tiny_model(), tiny_model()
    fit(windows, config, data[0], False)  # no test pass draws noise in between
    fit(by_epoch, TrainConfig(epochs=2, batch_size=100, device="cpu"), data[0], False)
    for a, b in zip(windows.state_dict().values(), by_epoch.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("field", ["max_steps", "log_every"])
def test_bad_budgets_are_refused(field):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: 0})


# --- seeds and default data (issue 17's contracts) ------------------------------------
def test_init_draws_the_initial_weights_from_the_config_seed(data):
    """With init=True two fits with the same config give the same weights and history
    whatever the global generator held when the models were built, and the weights
    vaebook.train starts from (torch.manual_seed(seed) before build()); without it the
    weights handed in are the start (a trained model is fine-tuned, never reset)."""
    model_config = VAEConfig(hidden=(16,), latent_dim=2)
    config = TrainConfig(epochs=1, batch_size=200, seed=3, device="cpu")
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        model = model_config.build()
        runs.append((model, fit(model, config, *data, init=True)))
    torch.manual_seed(config.seed)
    seeded = model_config.build()
    runs.append((seeded, fit(seeded, config, *data)))
    (a, history_a), (b, history_b), (c, history_c) = runs
    assert drop_time(history_a) == drop_time(history_b) == drop_time(history_c)
    for p, q, r in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q) and torch.equal(p, r)
    start = [p.detach().clone() for p in a.parameters()]
    fit(a, TrainConfig(epochs=1, lr=1e-9, device="cpu"), data[0], False)
    for p, q in zip(a.parameters(), start):
        assert (p - q).abs().max() < 1e-6  # fine-tuned from its weights, not redrawn
    with pytest.raises(ValueError, match="config"):
        fit(torch.nn.Linear(784, 2), config, *data, init=True)


def test_without_a_test_set_only_default_mnist_is_evaluated(monkeypatch):
    """Training data of 8x8 images and no test set: no test pass (MNIST's test split,
    784 pixels, is neither loaded nor downloaded); a mismatched test set is named."""
    import vaebook.data

    def no_mnist(*args, **kwargs):
        raise AssertionError("fit loaded MNIST for a model of 8x8 images")

    monkeypatch.setattr(vaebook.data, "load_mnist_images", no_mnist)
    torch.manual_seed(0)
    images = (torch.rand(100, 8, 8) < 0.3).float()
    model = VAEConfig(hidden=(8,), latent_dim=2, data_dim=64).build()
    history = fit(model, TrainConfig(epochs=1, batch_size=50, device="cpu"), images)
    assert not any(key.startswith("test_") for key in history[0])
    for train, test, which, pixels in [
        (images, torch.zeros(10, 16, 16), "test", 256),
        (torch.zeros(10, 4, 4), images, "training", 16),
    ]:
        with pytest.raises(ValueError, match=f"the {which} data .* has {pixels}:"):
            fit(model, TrainConfig(epochs=1, device="cpu"), train, test)


def test_a_run_logged_in_windows_resumes_exactly(data, tmp_path):
    """Windows of 5 steps, 10 steps per epoch: stopped after epoch 1 and resumed, the
    same windows and weights as a run never stopped; a checkpoint inside a window is
    refused."""
    from vaebook.checkpoints import load_checkpoint, save_checkpoint

    config = TrainConfig(
        epochs=2, batch_size=200, seed=1, device="cpu", log_every=5, max_steps=18
    )
    whole_model = tiny_model(1)
    whole = fit(whole_model, config, *data)
    assert [row["step"] for row in whole] == [5, 10, 15, 18] and "test_kl" in whole[-1]
    stopped, path = tiny_model(1), tmp_path / "run.pt"

    def save_then_stop(history, state):
        save_checkpoint(path, stopped, config, history, resume=state)
        raise Interrupted

    with pytest.raises(Interrupted):
        fit(stopped, config, *data, on_epoch=save_then_stop)
    ckpt = load_checkpoint(path)
    resumed = fit(ckpt.model, config, *data, resume=ckpt.resume)
    assert drop_time(resumed) == drop_time(whole) and resumed.stopped == "max_steps"
    for a, b in zip(
        whole_model.state_dict().values(), ckpt.model.state_dict().values()
    ):
        assert torch.equal(a, b)
    inside = TrainConfig(**{**config.__dict__, "log_every": 4})
    with pytest.raises(ValueError, match="inside a logging window"):
        fit(ckpt.model, inside, *data, resume=ckpt.resume)
