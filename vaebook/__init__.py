"""vaebook: the package behind the book "Variational autoencoders, from the ELBO to VQ-VAE"."""
from . import models  # noqa: F401  (registers the model configs used by checkpoints)

__version__ = "0.1.0"
