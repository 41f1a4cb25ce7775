"""vaebook: the package behind the book "Variational autoencoders, from the ELBO to
VQ-VAE"."""

# (register the model configs checkpoints name)
from . import discrete_vae, flows, gradients, models, regularizers, reparam, vq  # noqa: F401

__version__ = "0.1.0"
