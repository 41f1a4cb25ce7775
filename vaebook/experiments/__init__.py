"""The book's experiments: analyses, toys and measurements the chapters run on top of
the library (:mod:`vaebook.discrete`, :mod:`vaebook.discrete_vae`, :mod:`vaebook.vq`).

No library module imports this package; it reads the library the way a reader's own
experiment would.

- :mod:`~vaebook.experiments.enumeration`: exact expectations and gradients over
  every state of a few discrete latents, per-sample gradient estimates, their bias
  and variance.
- :mod:`~vaebook.experiments.discrete_analysis`: per-step traces, the mutual
  information I(x; z), the exact-sample test bound of a discrete VAE.
- :mod:`~vaebook.experiments.comparison`: the estimator comparison
  (book/comparing_estimators).
- :mod:`~vaebook.experiments.control_variates`: REINFORCE's baselines, RLOO, VIMCO's
  S-sample bound and DisARM measured exactly on an enumerable batch, and every
  estimator's error at equal decoder passes (book/control_variates).
- :mod:`~vaebook.experiments.vq`: learned priors over VQ codes and the EMA k-means toy.
- :mod:`~vaebook.experiments.annealing_lab`: the annealing lab's grid of short runs
  (temperature and sharpness schedules, KL warm-up and free bits, the IW objective)
  and its verdicts over seeds (book/annealing_lab);
  :mod:`~vaebook.experiments.lab_control`: its live "train with these settings" control.
"""
