#!/usr/bin/env bash
# Retrain the Gaussian VAEs shipped in vaebook/pretrained/ (CPU: about 45 minutes on 2 cores;
# a GPU: a few minutes). The recipes (commands, labels) are in vaebook/recipes.py.
# Usage: bash scripts/train_pretrained.sh [NAME ...]   (python -m vaebook.recipes list pretrained)
#   RESUME=1   continue interrupted runs, skip finished ones
set -euo pipefail
cd "$(dirname "$0")/.."
names=${*:-mnist_vae_2d mnist_vae_beta_0.1 mnist_vae_beta_0.3 mnist_vae_beta_1 mnist_vae_beta_3
            mnist_vae_beta_10 elbo_l2_vae mnist_vae}
exec "${PYTHON:-.venv/bin/python}" -m vaebook.recipes run $names ${RESUME:+--resume}
