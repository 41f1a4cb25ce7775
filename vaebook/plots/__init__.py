"""Figures for the chapters: each function returns a matplotlib Figure.

The figures every chapter uses are importable from here (``from vaebook import plots;
plots.show_images(...)``); the submodules group them by concept and hold the rest:

- :mod:`vaebook.plots.style`: the one style (sizes, fonts, the layout rules) and the
  slider-figure protocol :class:`~vaebook.plots.style.SliderFigure`.
- :mod:`vaebook.plots.core`: images, latent spaces, training histories, bounds.
- :mod:`vaebook.plots.estimators`: gradient estimators (:mod:`vaebook.gradients`).
- :mod:`vaebook.plots.reparam`: reparameterizable families (:mod:`vaebook.reparam`).
- :mod:`vaebook.plots.flows`: change of variables and planar flows
  (:mod:`vaebook.flows`).
- :mod:`vaebook.plots.rate_distortion`: the KL weight beta as a slider.
- :mod:`vaebook.plots.discrete`, :mod:`~vaebook.plots.gumbel`,
  :mod:`~vaebook.plots.smoothing`, :mod:`~vaebook.plots.vq`,
  :mod:`~vaebook.plots.comparison`, :mod:`~vaebook.plots.control_variates`,
  :mod:`~vaebook.plots.lab`: one chapter each.

Dependencies point one way: these modules import the concept modules, never the reverse,
so the concept modules do not need matplotlib.
"""

from __future__ import annotations

from . import style
from .core import (
    BetaPosteriorFigure,
    PosteriorFigure,
    bound_convergence,
    compare_histories,
    interpolation,
    kl_per_dimension,
    latent_scatter,
    learning_curves,
    manifold,
    monte_carlo_convergence,
    prior_samples,
    reconstructions,
    show_images,
)
from .estimators import GradientTermsFigure, plot_variance
from .flows import PlanarStepFrame, plot_densities
from .rate_distortion import BetaFrame
from .reparam import (
    DensityFrame,
    InverseCDFFrame,
    plot_families,
    plot_samples_vs_density,
)
from .style import SliderFigure

__all__ = [
    "BetaFrame",
    "BetaPosteriorFigure",
    "DensityFrame",
    "GradientTermsFigure",
    "InverseCDFFrame",
    "PlanarStepFrame",
    "PosteriorFigure",
    "SliderFigure",
    "bound_convergence",
    "compare_histories",
    "interpolation",
    "kl_per_dimension",
    "latent_scatter",
    "learning_curves",
    "manifold",
    "monte_carlo_convergence",
    "plot_densities",
    "plot_families",
    "plot_samples_vs_density",
    "plot_variance",
    "prior_samples",
    "reconstructions",
    "show_images",
    "style",
]

style.apply()  # dpi 100, tight boxes, 10 pt text: figures sized for the column
