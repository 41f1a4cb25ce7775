"""vaebook: the package behind the book "Variational autoencoders, from the ELBO to VQ-VAE"."""
from . import flows, gradients, models, regularizers, reparam  # noqa: F401  (register the model configs checkpoints name)

__version__ = "0.1.0"
