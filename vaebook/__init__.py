"""vaebook: the package behind the book "Variational autoencoders, from the ELBO to
VQ-VAE"."""

# (register the model configs checkpoints name)
from . import (  # noqa: F401
    discrete_vae,
    flows,
    gradients,
    hierarchical,
    models,
    regularizers,
    reparam,
    vq,
)

__version__ = "0.1.0"
