"""Model configurations by name, so a checkpoint can rebuild its model.

Each model family's config is a dataclass with a ``build()`` method, registered
here under a stable name that checkpoints store beside the weights.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

CONFIGS: dict[str, type] = {}


def register(name: str):
    """Class decorator: store a config dataclass under ``name``."""

    def add(cls):
        if name in CONFIGS and CONFIGS[name] is not cls:
            raise ValueError(f"a model config is already registered as {name!r}")
        CONFIGS[name] = cls
        cls.registry_name = name
        return cls

    return add


def config_to_dict(config) -> dict[str, Any]:
    """The config as plain data (safe for ``torch.load(weights_only=True)``)."""
    return {"name": type(config).registry_name, "fields": asdict(config)}


def config_from_dict(data: dict[str, Any]):
    """Rebuild a config saved by :func:`config_to_dict`."""
    name = data.get("name")
    if name not in CONFIGS:
        raise KeyError(f"unknown model {name!r}; known models: {sorted(CONFIGS)}")
    cls = CONFIGS[name]
    known = {f.name for f in fields(cls)}
    unknown = set(data["fields"]) - known
    if unknown:
        raise KeyError(f"config for {name!r} has unknown fields {sorted(unknown)}")
    values = {
        k: tuple(v) if isinstance(v, list) else v for k, v in data["fields"].items()
    }
    return cls(**values)
