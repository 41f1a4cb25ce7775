#!/usr/bin/env bash
# Retrain the checkpoints of "Gradient estimation" and "The reparameterization trick"
# (vaebook/pretrained/grad_*.pt, reparam_*.pt; recipes in vaebook/recipes.py): the same 784-200-20
# MLP and training for all, only the gradient estimator or the posterior family differs.
# CPU: a few minutes each on 2 cores. Usage: bash scripts/train_pretrained_estimators.sh [NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
names=${*:-grad_pathwise_vae grad_score_vae reparam_gaussian_vae reparam_laplace_vae reparam_logistic_vae}
exec "${PYTHON:-.venv/bin/python}" -m vaebook.recipes run $names ${RESUME:+--resume}
