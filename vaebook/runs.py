"""Training runs without their weights: what a comparison across estimators and
seeds needs (the configs, the command, the history per epoch, the test metrics), in
one small JSON file (gzip-compressed when its name ends in ``.json.gz``, as the
shipped ones do: a fifth to a tenth of the size).

A comparison of 17 estimators x several seeds would ship dozens of checkpoints of
1.2 MB each; the chapters only read their records. So the finished checkpoints are
summarized here, and only the models a chapter looks inside ship with weights.

    python -m vaebook.runs OUT.json[.gz] CKPT [CKPT ...] [--skip-unfinished]

writes the summary of the finished checkpoints ``CKPT`` (named ``NAME_seedS.pt``) to
``OUT.json`` or ``OUT.json.gz``, atomically; an unfinished one is an error, or is
left out with ``--skip-unfinished``.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .checkpoints import CheckpointError, read_checkpoint
from .registry import config_from_dict
from .training import TrainConfig

FORMAT = "vaebook-runs"
VERSION = 1
SEED_SUFFIX = re.compile(r"^(?P<name>.+)_seed(?P<seed>\d+)$")
SUFFIXES = (".json", ".json.gz")  # a records file's name ends in one of these


def is_compressed(path: str | Path) -> bool:
    """Whether the records file ``path`` is gzip-compressed (its name ends in .gz)."""
    return Path(path).name.endswith(".gz")


class UnfinishedRun(ValueError):
    """A checkpoint that still holds training state: its run has not finished."""


def state(path: str | Path) -> str:
    """Where the run whose checkpoint is ``path`` stands: ``"absent"`` (no file),
    ``"unfinished"`` (it still holds training state, or has no test metrics yet:
    ``--resume`` continues it) or ``"finished"``. The one test of "is it finished"
    (:func:`summarize` and the recipes' runner both ask it); an unreadable file raises
    :class:`vaebook.checkpoints.CheckpointError`."""
    if not Path(path).is_file():
        return "absent"
    return _state(read_checkpoint(path))


def _state(payload: dict) -> str:
    finished = "resume" not in payload and payload.get("metrics")
    return "finished" if finished else "unfinished"


@dataclass(frozen=True)
class Run:
    """One finished training run: its name (the model, without the seed), seed,
    command, model and training configs, history per epoch and test metrics."""

    name: str
    seed: int
    command: str
    model_config: object
    train_config: TrainConfig
    history: list[dict]
    metrics: dict

    @property
    def steps(self) -> int:
        """Optimizer steps taken (the last epoch's ``step``)."""
        return int(self.history[-1]["step"])

    @property
    def seconds(self) -> float:
        """Training seconds (the test passes after each epoch not counted)."""
        return float(sum(row["seconds"] for row in self.history))


ACTIVE_THRESHOLD = 0.01  # Burda et al.: unit k is active if Cov_x(E_q[z_k|x]) > 0.01


def count_above(values, threshold: float = ACTIVE_THRESHOLD) -> int:
    """How many of the per-latent ``values`` exceed ``threshold``: the active units,
    by their activity or by their KL."""
    return int(sum(float(v) > threshold for v in values))


def _compact(value):
    """Floats to 5 significant digits, lists of numbers (per-latent values) dropped,
    except a unit activity per latent (``test_activity``), kept as its count of
    active units (``test_active_units``: activity above :data:`ACTIVE_THRESHOLD`)."""
    if isinstance(value, float):
        return float(f"{value:.5g}")
    if isinstance(value, dict):
        out = {
            k: _compact(v) for k, v in value.items() if not isinstance(v, (list, tuple))
        }
        if isinstance(value.get("test_activity"), (list, tuple)):
            out["test_active_units"] = count_above(value["test_activity"])
        return out
    return value


def summarize(path: str | Path) -> dict:
    """The record of the finished checkpoint at ``path`` (``NAME_seedS.pt``), weights
    left out. A checkpoint still holding training state (a run not finished) is
    refused."""
    path = Path(path)
    match = SEED_SUFFIX.match(path.stem)
    if match is None:
        raise ValueError(f"{path.name}: a run's checkpoint is named NAME_seedS.pt")
    payload = read_checkpoint(path)
    if _state(payload) != "finished":
        raise UnfinishedRun(
            f"{path} is an unfinished run (it still holds training state); "
            "finish it with --resume first"
        )
    seed = payload["train_config"]["seed"]
    if seed != int(match["seed"]):
        raise ValueError(f"{path.name} says seed {match['seed']}, its config {seed}")
    history = [_compact(row) for row in payload["history"]]
    if "step" not in payload["history"][0]:  # recorded before steps were: count them
        batch = payload["train_config"]["batch_size"]
        limit = payload["train_config"]["train_limit"] or 60_000
        for row in history:
            row["step"] = row["epoch"] * -(-limit // batch)
    return {
        "name": match["name"],
        "seed": seed,
        "command": payload.get("command") or payload["metrics"]["test"]["command"],
        "model_config": payload["model_config"],
        "train_config": payload["train_config"],
        "history": history,
        "metrics": {
            split: {k: v for k, v in _compact(m).items() if k != "command"}
            for split, m in payload["metrics"].items()
        },
    }


def write_runs(
    paths: list[str | Path], out: str | Path, skip_unfinished: bool = False
) -> Path:
    """Summarize the checkpoints ``paths`` into one JSON file ``out`` (atomically;
    gzip-compressed, reproducibly, when ``out`` ends in ``.gz``).

    ``skip_unfinished``: leave out the runs still training (and unreadable files)
    instead of failing on them."""
    records = []
    for path in paths:
        try:
            records.append(summarize(path))
        except (UnfinishedRun, CheckpointError):
            if not skip_unfinished:
                raise
    records.sort(key=lambda r: (r["name"], r["seed"]))
    text = json.dumps({"format": FORMAT, "version": VERSION, "runs": records}, indent=1)
    data = (text + "\n").encode()
    out = Path(out)
    if is_compressed(out):  # mtime 0: the same records, the same bytes
        data = gzip.compress(data, compresslevel=9, mtime=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def read_runs(path: str | Path) -> list[Run]:
    """The runs recorded in ``path`` (written by :func:`write_runs`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no runs file at {path}")
    raw = path.read_bytes()
    try:
        data = json.loads(gzip.decompress(raw) if is_compressed(path) else raw)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable runs file: {err}") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or data.get("version") != VERSION
    ):
        raise ValueError(f"{path} is not a vaebook runs file (version {VERSION})")
    return [
        Run(
            name=r["name"],
            seed=r["seed"],
            command=r["command"],
            model_config=config_from_dict(r["model_config"]),
            train_config=TrainConfig(**r["train_config"]),
            history=r["history"],
            metrics=r["metrics"],
        )
        for r in data["runs"]
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    skip = "--skip-unfinished" in argv  # keep the finished runs (others still train)
    argv = [a for a in argv if a != "--skip-unfinished"]
    out, paths = Path(argv[0]), argv[1:]
    if not out.name.endswith(SUFFIXES) or not paths:
        print(
            "error: usage: python -m vaebook.runs OUT.json[.gz] CKPT [CKPT ...]",
            file=sys.stderr,
        )
        return 2
    try:
        write_runs(paths, out, skip_unfinished=skip)
    except (ValueError, FileNotFoundError, OSError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{out}: {len(read_runs(out))} of {len(paths)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
