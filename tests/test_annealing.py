"""Temperature and smoothing schedules (vaebook.annealing) against their formulas, and a
tiny Gumbel-softmax categorical VAE whose recorded temperature really anneals."""

import math

import pytest

from vaebook.annealing import ExponentialDecay, SharpnessSchedule
from vaebook.data import BinarizedMNIST
from vaebook.discrete_vae import BinaryVAEConfig, CategoricalVAEConfig
from vaebook.training import TrainConfig, column, fit

SCHEDULES = [
    (1.0, 0.5, 1e-4, 500),
    (2.0, 0.3, 0.013, 7),
    (1.0, 0.5, 0.05, 1),
    (5.0, 0.1, 3e-3, 100),
]


@pytest.mark.parametrize("start,minimum,rate,every", SCHEDULES)
def test_exponential_decay_formula(start, minimum, rate, every):
    sched = ExponentialDecay(start, minimum, rate, every)
    last = sched.steps_to_floor() + 3 * every
    for t in list(range(0, min(last, 3000))) + [last, 10 * last]:
        expected = max(minimum, start * math.exp(-rate * every * math.floor(t / every)))
        assert sched(t) == pytest.approx(expected, rel=1e-12), t
    assert sched(0) == start


# rate = log(start / minimum) / T with T a multiple of ``every``: the floor lands
# exactly on an update step (the natural choice "reach the floor at step T"), where
# rounding decides either way
BOUNDARY = [(1.0, 0.5, math.log(2) / 231, 7), (1.0, 0.5, math.log(2) / 301, 7)]


@pytest.mark.parametrize("start,minimum,rate,every", SCHEDULES + BOUNDARY)
def test_steps_to_floor_is_the_first_step_at_the_floor(start, minimum, rate, every):
    sched = ExponentialDecay(start, minimum, rate, every)
    first = next(t for t in range(10**7) if sched(t) <= minimum)  # brute force
    assert sched.steps_to_floor() == first
    assert sched(first) == minimum and (first == 0 or sched(first - 1) > minimum)


def test_temperature_only_changes_every_n_steps():
    sched = ExponentialDecay(1.0, 0.1, 0.01, 50)
    values = [sched(t) for t in range(200)]
    changes = [t for t in range(1, 200) if values[t] != values[t - 1]]
    assert changes == [50, 100, 150]


def test_annealing_that_never_anneals_is_refused():
    for minimum in (1.0, 1.5):
        with pytest.raises(ValueError, match="minimum < start"):
            ExponentialDecay(start=1.0, minimum=minimum, rate=1e-3, every=10)
    with pytest.raises(ValueError):
        ExponentialDecay(start=0.0, minimum=0.5, rate=0.0)
    with pytest.raises(ValueError):
        ExponentialDecay(start=1.0, minimum=0.5, rate=-1e-3)
    with pytest.raises(ValueError):
        ExponentialDecay(start=1.0, minimum=0.5, rate=1e-3, every=0)


def test_rate_zero_is_a_constant_temperature():
    sched = ExponentialDecay(
        start=0.7, minimum=2.0, rate=0.0, every=3
    )  # the floor is then ignored
    assert not sched.annealed and sched.steps_to_floor() == 0
    assert all(sched(t) == 0.7 for t in (0, 1, 5, 10**6))


@pytest.mark.parametrize("how", ["linear", "geometric"])
def test_sharpness_schedule_endpoints_and_shape(how):
    start, end, fraction = 2.0, 8.0, 0.5
    sched = SharpnessSchedule(end, start, how, fraction)
    assert sched(0.0) == pytest.approx(start) and sched(-0.2) == pytest.approx(start)
    assert (
        sched(fraction) == pytest.approx(end)
        and sched(0.9) == end
        and sched(1.0) == end
    )
    s = 0.3 / fraction
    expected = (
        start + s * (end - start) if how == "linear" else start * (end / start) ** s
    )
    assert sched(0.3) == pytest.approx(expected)
    if how == "geometric":  # the midpoint is the geometric mean
        assert sched(fraction / 2) == pytest.approx(math.sqrt(start * end))
    values = [sched(p / 100) for p in range(101)]
    assert all(b >= a for a, b in zip(values, values[1:]))


def test_sharpness_schedule_refusals():
    assert SharpnessSchedule(5.0)(0.3) == 5.0  # how="none" is fixed at its end
    for how in ("linear", "geometric"):
        with pytest.raises(ValueError, match="start different"):
            SharpnessSchedule(5.0, 5.0, how)
        with pytest.raises(ValueError, match="start different"):
            SharpnessSchedule(5.0, None, how)
    with pytest.raises(ValueError, match="finite number > 0"):
        SharpnessSchedule(5.0, 0.0, "geometric")
    with pytest.raises(ValueError, match="one of"):
        SharpnessSchedule(5.0, 1.0, "cosine")
    for fraction in (0.0, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            SharpnessSchedule(5.0, 1.0, "linear", fraction)


# --- the temperature a trained model records ------------------------------------------


@pytest.fixture(scope="module")
def mnist():
    return (
        BinarizedMNIST.load("train", limit=600),
        BinarizedMNIST.load("test", limit=200),
    )


def tiny_config(**kw):
    return CategoricalVAEConfig(
        hidden=(32,), num_latents=4, num_classes=3, estimator="gumbel-softmax", **kw
    )


def test_trained_temperature_anneals_to_its_floor(mnist):
    train, test = mnist
    every, steps_per_epoch, epochs = 2, 6, 3
    rate = (
        math.log(1.0 / 0.5) / 17
    )  # the floor is reached at step 18, the end of training
    config = tiny_config(
        temperature=1.0, temperature_min=0.5, anneal_rate=rate, anneal_every=every
    )
    sched = config.temperature_schedule()
    assert sched.steps_to_floor() == steps_per_epoch * epochs
    model = config.build()
    history = fit(
        model, TrainConfig(epochs=epochs, batch_size=100, device="cpu"), train, test
    )
    test_tau, train_tau = (
        column(history, "test_temperature"),
        column(history, "train_temperature"),
    )
    assert all(b < a for a, b in zip(test_tau, test_tau[1:])), test_tau
    assert all(b < a for a, b in zip(train_tau, train_tau[1:])), train_tau
    assert test_tau[-1] == pytest.approx(0.5)  # at the floor once training ends
    # what was recorded is the schedule: end-of-epoch values and per-epoch means of the
    # steps
    for e in range(epochs):
        assert test_tau[e] == pytest.approx(sched(steps_per_epoch * (e + 1)))
        steps = range(steps_per_epoch * e, steps_per_epoch * (e + 1))
        assert train_tau[e] == pytest.approx(
            sum(sched(t) for t in steps) / steps_per_epoch
        )


def test_fixed_temperature_stays_constant(mnist):
    train, test = mnist
    model = tiny_config(temperature=0.8, anneal_rate=0.0).build()
    history = fit(
        model, TrainConfig(epochs=2, batch_size=100, device="cpu"), train, test
    )
    assert column(history, "train_temperature") == pytest.approx([0.8, 0.8])
    assert column(history, "test_temperature") == pytest.approx([0.8, 0.8])


def test_config_refuses_a_schedule_that_cannot_anneal():
    with pytest.raises(ValueError, match="minimum < start"):
        tiny_config(temperature=0.5, temperature_min=0.5, anneal_rate=1e-3)
    with pytest.raises(ValueError, match="start different"):
        BinaryVAEConfig(sharpness_anneal="linear", sharpness_start=5.0, sharpness=5.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -1.0])
def test_temperatures_and_sharpnesses_must_be_finite_and_positive(bad):
    """nan gives nan samples, inf uniform ones, 0 a division by zero: refused early."""
    with pytest.raises(ValueError, match="temperature.*finite number > 0"):
        ExponentialDecay(bad, 0.5, 1e-4, 500)
    with pytest.raises(ValueError, match="temperature.*finite number > 0"):
        ExponentialDecay(1.0, bad, 1e-4, 500)
    with pytest.raises(ValueError, match="sharpness.*finite number > 0"):
        SharpnessSchedule(bad)
    with pytest.raises(ValueError, match="sharpness.*finite number > 0"):
        SharpnessSchedule(5.0, bad, "linear")
    with pytest.raises(ValueError, match="temperature.*finite number > 0"):
        CategoricalVAEConfig(temperature=bad)
    with pytest.raises(ValueError, match="sharpness.*finite number > 0"):
        BinaryVAEConfig(sharpness=bad)
    with pytest.raises(TypeError, match="sharpness"):  # no smoother for categories
        CategoricalVAEConfig(sharpness=5.0)
