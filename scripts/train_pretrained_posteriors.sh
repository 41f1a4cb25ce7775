#!/usr/bin/env bash
# Retrain the checkpoints of "Computing q(z|x)" (book/computing_q.ipynb; recipes in
# vaebook/recipes.py): three VAEs with the same 784-200-200-16 MLPs and training, differing only in
# q(z|x). CPU: about 3-4 minutes each on one core (OMP_NUM_THREADS=1 on a busy CPU).
# Usage: bash scripts/train_pretrained_posteriors.sh [NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
names=${*:-posterior_diagonal_vae posterior_fullcov_vae posterior_planar_vae}
exec "${PYTHON:-.venv/bin/python}" -m vaebook.recipes run $names ${RESUME:+--resume}
