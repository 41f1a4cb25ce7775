#!/usr/bin/env bash
# Retrain the discrete-latent models shipped with weights or compared as records (recipes in
# vaebook/recipes.py: groups "headline" and "vq"; the 12 estimator runs are
# scripts/train_estimator_comparison.sh). The VQ-VAEs train straight into vaebook/pretrained/;
# the headline models (cat_gumbel_vae: 120 epochs, 72,000 steps; bin_f2_anneal_long: 60 epochs;
# the candidates cat_gumbel_tau02 and cat_st_gumbel: 60) into runs/headline/NAME_seed0.pt, and
# `python -m vaebook.recipes ship headline` then writes their records and copies the ones that
# ship with weights. 10-30 minutes each on one CPU core; a VQ-VAE about 5.
#
# Usage: bash scripts/train_pretrained_discrete.sh [NAME ...]   (no NAME: all of them)
#   EPOCHS=N   epochs per model instead of the recipe's
#   RESUME=1   continue interrupted runs, skip finished ones
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m vaebook.recipes run ${*:-headline vq} \
  ${RESUME:+--resume} ${EPOCHS:+--epochs "$EPOCHS"}
