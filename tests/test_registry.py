"""vaebook.registry: configs by name, refused duplicates, clear errors, round trips."""

from dataclasses import asdict, dataclass

import pytest

from vaebook import (  # noqa: F401  (importing a module registers its configs)
    discrete_vae,
    flows,
    gradients,
    registry,
    regularizers,
    reparam,
    vq,
)
from vaebook.models import VAEConfig
from vaebook.registry import CONFIGS, config_from_dict, config_to_dict, register


@pytest.fixture
def scratch(monkeypatch):
    """A registry of its own, so that test configs do not leak into CONFIGS."""
    monkeypatch.setattr(registry, "CONFIGS", dict(CONFIGS))
    return registry.CONFIGS


def test_register_stores_the_class_under_its_name(scratch):
    @register("toy")
    @dataclass
    class Toy:
        width: int = 3

    assert scratch["toy"] is Toy and Toy.registry_name == "toy"
    assert register("toy")(Toy) is Toy  # registering the same class again is harmless


def test_a_name_registered_twice_is_refused(scratch):
    @register("toy")
    @dataclass
    class Toy:
        width: int = 3

    @dataclass
    class Other:
        width: int = 3

    with pytest.raises(ValueError, match="already registered as 'toy'"):
        register("toy")(Other)
    with pytest.raises(ValueError, match="'gaussian-vae'"):
        register("gaussian-vae")(Other)
    assert scratch["toy"] is Toy and scratch["gaussian-vae"] is VAEConfig


def test_unknown_names_and_fields_are_refused_with_the_known_ones():
    with pytest.raises(KeyError, match="unknown model 'no-such-model'") as error:
        config_from_dict({"name": "no-such-model", "fields": {}})
    assert "gaussian-vae" in str(error.value)
    with pytest.raises(KeyError, match="known models"):
        config_from_dict({"fields": {}})
    data = config_to_dict(VAEConfig())
    data["fields"]["depth"] = 3
    with pytest.raises(KeyError, match=r"unknown fields \['depth'\]"):
        config_from_dict(data)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_registered_config_round_trips_through_plain_data(name):
    """asdict -> rebuild gives an equal config (tuples come back as tuples), for every
    registered model, and the saved dict names the model."""
    config = CONFIGS[name]()
    data = config_to_dict(config)
    assert data == {"name": name, "fields": asdict(config)}
    # as torch.load(weights_only=True) would give it back: tuples saved as lists
    fields = data["fields"]
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    rebuilt = config_from_dict({"name": name, "fields": plain})
    assert type(rebuilt) is CONFIGS[name] and rebuilt == config


def test_a_non_default_config_round_trips():
    config = VAEConfig(architecture="conv", hidden=(4, 8), latent_dim=7)
    rebuilt = config_from_dict(config_to_dict(config))
    assert rebuilt == config and rebuilt.hidden == (4, 8)
