"""Figures for the chapters: each function returns a matplotlib Figure.

Every helper is importable from here (``from vaebook import plots;
plots.show_images(...)``); the submodules group them by concept:

- :mod:`vaebook.plots.core`: images, latent spaces, training histories, bounds.
- :mod:`vaebook.plots.estimators`: gradient estimators (:mod:`vaebook.gradients`).
- :mod:`vaebook.plots.reparam`: reparameterizable families (:mod:`vaebook.reparam`).
- :mod:`vaebook.plots.flows`: change of variables and planar flows
  (:mod:`vaebook.flows`).
- :mod:`vaebook.plots.rate_distortion`: the KL weight beta as a slider.

Dependencies point one way: these modules import the concept modules, never the reverse,
so the concept modules do not need matplotlib.
"""

from __future__ import annotations

# the names the single-module vaebook.plots exposed, so ``plots.plt`` and friends keep
# working
import math  # noqa: F401

import torch  # noqa: F401
from torch import distributions as D  # noqa: F401

from . import style
from .core import (  # noqa: F401
    _ellipse,
    _tile,
    beta_posteriors,
    bound_convergence,
    column,
    compare_histories,
    interpolation,
    kl_per_dimension,
    latent_scatter,
    learning_curves,
    manifold,
    monte_carlo_convergence,
    plt,
    prior_samples,
    reconstructions,
    show_images,
    true_posterior,
)
from .estimators import plot_gradient_terms, plot_variance  # noqa: F401
from .flows import PlanarStepFrame, planar_step_figure, plot_densities  # noqa: F401
from .rate_distortion import BetaFrame  # noqa: F401
from .reparam import (  # noqa: F401
    DensityFrame,
    InverseCDFFrame,
    plot_families,
    plot_inverse_cdf,
    plot_samples_vs_density,
)

style.apply()  # dpi 100, tight boxes, 10 pt text: figures sized for the column
