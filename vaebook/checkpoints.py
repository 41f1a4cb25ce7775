"""Checkpoints: weights, model config, training config, history and metrics in one file.

Written atomically (a temporary file in the same folder, flushed to disk with
fsync, then ``os.replace``), so a checkpoint is whole or absent, never half
written: a process killed mid-write leaves the previous file intact (and, at
worst, a stray ``.NAME.*.tmp`` beside it). Everything stored is plain data and
tensors, so it loads with ``torch.load(..., weights_only=True)``.

Optional entries (absent from older files, which load as before): ``command``,
the command line that trained the model, and ``resume``, the training state that
``python -m vaebook.train ... --resume CKPT`` continues from (optimizer, step,
random state; see :func:`vaebook.training.training_state`). ``vaebook.train``
writes one such resumable float32 checkpoint after every epoch and replaces it
at the end with the final one (``--dtype``, metrics, no training state).

A model trained on from another checkpoint's weights (``--init-from``) can be stored
as its difference from them (:func:`save_difference`): int8 differences, half of
float16's bytes, whose rounding error is as much smaller than int8 weights' as the
differences are smaller than the weights (for ``mnist_vae_iwae``, about 1/17 in the
median row). Its ``base`` entry names the file beside it (with the file's SHA-256)
whose weights are added back on load.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch

from .registry import config_from_dict, config_to_dict
from .training import TrainConfig

FORMAT = "vaebook-checkpoint"
VERSION = 1
STORAGE_DTYPES = ("float32", "float16", "int8")
# int8 storage: each weight matrix keeps one float16 scale per output row
SCALE_SUFFIX = ".int8_scale"


class CheckpointError(RuntimeError):
    """A checkpoint file that is missing, corrupt, or does not match its model."""


@dataclass
class Checkpoint:
    model: torch.nn.Module
    model_config: object
    train_config: TrainConfig | None
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    command: str | None = None  # the command line that trained it, where recorded
    resume: dict | None = None  # training state and history, for fit(..., resume=...)


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    train_config: TrainConfig | None = None,
    history: list[dict] | None = None,
    metrics: dict | None = None,
    dtype: str = "float32",
    command: str | None = None,
    resume: dict | None = None,
) -> Path:
    """Write ``model`` (with its ``config``), training config, history and metrics to
    ``path``.

    ``dtype="float16"`` halves the file; ``"int8"`` quarters it (weight matrices
    as int8 with one scale per output row, everything else float16). Weights are
    cast back to float32 on load. ``command``: the training command line;
    ``resume``: a :func:`vaebook.training.training_state` (float32 weights only,
    since resuming from rounded weights would not continue the same run).
    """
    _check_save_arguments(model, dtype, resume)
    state = encode_state(model.state_dict(), dtype)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "dtype": dtype,
        "model_config": config_to_dict(model.config),
        "train_config": asdict(train_config) if train_config is not None else None,
        "state_dict": state,
        "history": list(history or []),  # a plain list (fit returns a History)
        "metrics": metrics or {},
    }
    if command is not None:
        payload["command"] = command
    if resume is not None:
        payload["resume"] = resume
    path = Path(path)
    _write_atomically(payload, path)
    return path


def save_difference(
    path: str | Path, trained: str | Path, base: str | Path, measure=None
) -> dict:
    """Store the final checkpoint ``trained`` in ``path`` as int8 differences from the
    weights of ``base`` (a checkpoint of the same model, kept in ``path``'s folder:
    it is found there on load). Returns what the rounding cost, which is also kept in
    its ``metrics["test"]["storage"]``: the largest change of a weight, and what
    ``measure(model, stored_weights)`` returns (e.g. the -ELBO's change, as
    :func:`vaebook.train.weights_cost` measures it). Everything else is kept as it is.

    The rounding error of a weight is at most half its row's step, the row's
    largest difference / 254, instead of the row's largest weight / 254 for int8
    weights."""
    payload, base = read_checkpoint(trained), Path(base)
    if payload.get("resume") is not None:
        raise CheckpointError(f"{trained} is still training; store a final checkpoint")
    if Path(path).resolve().parent != base.resolve().parent:
        raise ValueError(
            f"the base {base} must lie in the folder of {path}, where loading finds it"
        )
    base_payload = read_checkpoint(base)
    config = config_from_dict(payload["model_config"])
    if (
        config_from_dict(base_payload["model_config"]) != config
        or "base" in base_payload
    ):
        raise CheckpointError(
            f"{base} cannot be the base of {trained}: another model or model config, "
            "or itself stored as a difference"
        )
    weights = decode_state(payload["state_dict"])
    start = decode_state(base_payload["state_dict"])
    difference = {
        k: v - start[k] if v.is_floating_point() else v for k, v in weights.items()
    }
    stored = encode_state(difference, "int8")
    rebuilt = _add(decode_state(stored), start)
    error = max((rebuilt[k] - v).abs().max().item() for k, v in weights.items())
    cost = {"dtype": "int8", "difference_from": base.name, "max_weight_error": error}
    if measure is not None:
        model = config.build()
        model.load_state_dict(weights)
        cost.update(measure(model.eval(), rebuilt))
    payload.update(state_dict=stored, dtype="int8")
    payload["base"] = {"file": base.name, "sha256": sha256(base)}
    payload.setdefault("metrics", {}).setdefault("test", {})["storage"] = cost
    _write_atomically(payload, Path(path))
    return cost


def _add(difference: dict, start: dict) -> dict:
    return {
        k: v + start[k] if v.is_floating_point() else v for k, v in difference.items()
    }


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stored_weights(payload: dict, path: str | Path) -> dict[str, torch.Tensor]:
    """The float32 weights a checkpoint's payload holds (its base's added back where
    it is stored as a difference); a :class:`CheckpointError` when that base is
    missing or is not the file it was stored against."""
    state = decode_state(payload["state_dict"])
    if "base" not in payload:
        return state
    base = Path(path).parent / payload["base"]["file"]
    if not base.is_file() or sha256(base) != payload["base"]["sha256"]:
        found = "is missing" if not base.is_file() else "has changed since"
        raise CheckpointError(
            f"{path} is stored as its difference from {base.name}, which {found} "
            "(its SHA-256 is recorded); restore that file or retrain the model"
        )
    return _add(state, stored_weights(read_checkpoint(base), base))


def _check_save_arguments(model: torch.nn.Module, dtype: str, resume) -> None:
    """The storage dtype is known (float32 for a resumable checkpoint) and the model
    can be rebuilt from its registered config."""
    if resume is not None and dtype != "float32":
        raise ValueError(
            f"a resumable checkpoint keeps float32 weights, got dtype={dtype!r}"
        )
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"dtype must be one of {STORAGE_DTYPES}, got {dtype!r}")
    if not hasattr(model, "config") or not hasattr(type(model.config), "registry_name"):
        raise TypeError(
            f"{type(model).__name__} has no registered .config; it cannot "
            "be rebuilt from a checkpoint"
        )


def _write_atomically(payload: dict, path: Path) -> None:
    """torch.save into a temporary file beside ``path``, fsync, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes 0600 files; give the usual permissions
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)  # the rename itself reaches the disk


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows, where folders cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 quantization, one scale per output row (dim 0): w ~ q * scale.

    The rounding error of each entry is at most half its row's scale, max|w_row| / 254.
    """
    rows = weight.detach().float().reshape(len(weight), -1)
    # (rows,), exactly representable in fp16
    scale = (rows.abs().amax(1) / 127).clamp_min(1e-12).half().float()
    q = torch.round(rows / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q.reshape(weight.shape), scale.half()


def dequantize_rows(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return (q.float().reshape(len(q), -1) * scale.float()[:, None]).reshape(q.shape)


def encode_state(state: dict[str, torch.Tensor], dtype: str) -> dict[str, torch.Tensor]:
    """The state dict as stored: floating tensors in ``dtype`` (int8 for matrices and
    kernels only)."""
    out = {}
    for key, value in state.items():
        value = value.detach().cpu()
        if not value.is_floating_point() or dtype == "float32":
            out[key] = value
        elif dtype == "int8" and value.dim() >= 2:
            out[key], out[key + SCALE_SUFFIX] = quantize_rows(value)
        else:
            out[key] = value.half()
    return out


def decode_state(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`encode_state`: float32 tensors (int8 matrices dequantized)."""
    out = {}
    for key, value in stored.items():
        if key.endswith(SCALE_SUFFIX):
            continue
        if key + SCALE_SUFFIX in stored:
            out[key] = dequantize_rows(value, stored[key + SCALE_SUFFIX])
        else:
            out[key] = value.float() if value.is_floating_point() else value
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_checkpoint(path: str | Path) -> dict:
    """The raw payload, checked for format; raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # zip, unpickling and EOF errors all mean the same here
        raise CheckpointError(
            f"{path} is not a readable checkpoint (corrupt or truncated: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            "retrain it or restore the file"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a torch file but not a vaebook checkpoint "
            f"(no format={FORMAT!r})"
        )
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version "
            f"{payload.get('version')}; this vaebook reads {VERSION}"
        )
    return payload


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model from its saved config and load its weights (float32, eval
    mode)."""
    payload = read_checkpoint(path)
    try:
        model_config = config_from_dict(payload["model_config"])
    except (KeyError, TypeError, ValueError) as err:
        message = f"{path}: its model config cannot be rebuilt: {err}"
        raise CheckpointError(message) from err
    model = model_config.build()
    state = stored_weights(payload, path)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(
            f"{path}: the weights do not match the saved config "
            f"{model_config}: "
            f"{str(err).splitlines()[0]}"
        ) from err
    train = payload.get("train_config")
    history, metrics = payload.get("history", []), payload.get("metrics", {})
    test = metrics.get("test") if isinstance(metrics, dict) else None
    command = payload.get("command") or (
        test.get("command") if isinstance(test, dict) else None
    )
    resume = payload.get("resume")
    return Checkpoint(
        model.to(device).eval(),
        model_config,
        TrainConfig(**train) if train is not None else None,
        history,
        metrics,
        command,
        {**resume, "history": history} if resume is not None else None,
    )


def load_for_resume(
    path: str | Path, model_config: object, train_config: TrainConfig
) -> Checkpoint:
    """The checkpoint ``path`` to continue training from, checked against the options of
    the resuming command: same model and model config, same training config (the device
    may differ: the run then continues, though not bit for bit). Raises
    :class:`CheckpointError` naming what differs, or when the file holds no training
    state (a final checkpoint, or one written before resumable training)."""
    ckpt = load_checkpoint(path)
    if ckpt.resume is None:
        raise CheckpointError(
            f"{path} holds no training state to resume: it is a final checkpoint "
            "(training ended) or was written before resumable training; the state is "
            "saved after every epoch while a run lasts"
        )
    differ = _differences(ckpt.model_config, model_config)
    if ckpt.train_config is not None:
        differ += _differences(ckpt.train_config, train_config, ignore=("device",))
    if differ:
        was = f"; it was trained by: {ckpt.command}" if ckpt.command else ""
        raise CheckpointError(
            f"cannot resume from {path}: it was trained with other "
            f"options ({'; '.join(differ)}). Resume with the same "
            f"options{was}"
        )
    return ckpt


def load_for_init(path: str | Path, model_config: object) -> Checkpoint:
    """The checkpoint whose weights a new run starts from (``--init-from``): any
    checkpoint, final or not, whose model and model config equal ``model_config``
    (a :class:`CheckpointError` names what differs)."""
    ckpt = load_checkpoint(path)
    differ = _differences(ckpt.model_config, model_config)
    if differ:
        raise CheckpointError(
            f"cannot start from the weights of {path}: its model differs "
            f"({'; '.join(differ)})"
        )
    return ckpt


def _differences(
    saved: object, given: object, ignore: tuple[str, ...] = ()
) -> list[str]:
    if type(saved) is not type(given):
        names = [
            getattr(type(c), "registry_name", type(c).__name__) for c in (saved, given)
        ]
        return [f"model {names[0]} in the checkpoint, {names[1]} on the command line"]
    return [
        f"{f.name}: {getattr(saved, f.name)!r} in the checkpoint, "
        f"{getattr(given, f.name)!r} on the command line"
        for f in fields(saved)
        if f.name not in ignore and getattr(saved, f.name) != getattr(given, f.name)
    ]
