"""Steps per second of the annealing lab's live control against the bare training step.

The live control (:mod:`vaebook.experiments.lab_control`) trains the lab's binary VAE
(784-200-32, binary Gumbel-softmax) through ``vaebook.training.fit`` with its
recorder (windows, gradient variance), a progress bar, redraws of the comparison figure
(PNG, at most every ``REDRAW_S``) and the test pass at the end. The bare step is
the same model's ``objective`` + backward + Adam step in a plain loop. Both run in
this process, interleaved round by round, and the ratio is printed (machines differ;
a ratio in one run does not).

Usage: python benchmarks/live_control.py [--steps 1000] [--rounds 3] [--device cpu]
       [--grid vaebook/pretrained/lab]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from vaebook.data import BinarizedMNIST
from vaebook.experiments import annealing_lab as lab
from vaebook.experiments import lab_control
from vaebook.training import TrainConfig, TrainState, make_optimizer, resolve_device

SETTING = lab.Setting(1.0, 0.2, 5e-3)


def bare(config: lab.LabConfig, train, device, steps: int) -> float:
    """Steps per second of the plain loop: objective, backward, Adam."""
    torch.manual_seed(0)
    model = SETTING.model_config(config.hidden, config.binary_latents).build()
    model = model.to(device).train()
    optimizer = make_optimizer(model, config.lr)
    state = TrainState(TrainConfig(epochs=1), total_steps=steps)
    started = time.perf_counter()
    for x in train.batches(config.batch_size, epoch=0):
        loss = model.objective(x, state)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state.step += 1
        if state.step == steps:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - started)


def live(grid: dict, config: lab.LabConfig, train, device, steps: int) -> float:
    """Steps per second of the control, from the click to the drawn result."""
    box = lab_control.live_control(
        grid, 600, device, replace(config, steps=steps), train
    )
    control = box.control
    control.ensure_data()  # loading MNIST is not training
    for name, value in (("start", 1.0), ("floor", 0.2), ("rate", 5e-3)):
        control.sliders[name].value = value
    started = time.perf_counter()
    control.click()
    control.wait()
    seconds = time.perf_counter() - started
    (run,) = control.live_runs
    assert run["steps"] == steps and control.bar.bar_style == "success"
    return steps / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--grid", default=str(lab.FOLDER), help="a lab grid folder")
    args = parser.parse_args()
    device = resolve_device(args.device)
    grid = lab.load_grid(args.grid)
    config = lab_control.grid_config(grid)
    train = BinarizedMNIST.load("train", "dynamic", 0, device)
    rates = {"bare step": [], "live control": []}
    for _ in range(args.rounds):  # interleaved: both see the same machine load
        rates["bare step"].append(bare(config, train, device, args.steps))
        rates["live control"].append(live(grid, config, train, device, args.steps))
    print(
        f"{args.steps} steps, {args.rounds} rounds, {device}, "
        f"{torch.get_num_threads()} torch threads"
    )
    for name, values in rates.items():
        listed = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:>13}: {statistics.median(values):6.1f} steps/s ({listed})")
    ratio = statistics.median(
        b / a for a, b in zip(rates["bare step"], rates["live control"])
    )
    seconds = args.steps / statistics.median(rates["live control"])
    per_1000 = 1000 / args.steps * seconds
    print(f"live / bare: {ratio:.2f}; 1,000 live steps take {per_1000:.1f} s")


if __name__ == "__main__":
    main()
