#!/usr/bin/env bash
# The equal-step estimator comparison (book/comparing_estimators.ipynb and the tables of
# straight_through, gumbel_softmax, smoothing and control_variates): the 17 estimators of a 200-Bernoulli VAE, each
# trained for the same 6,000 optimizer steps with the same network, optimizer, KL warm-up and data,
# once per seed. The recipes (group "estimators") are in vaebook/recipes.py.
#
# Usage: bash scripts/train_estimator_comparison.sh [NAME ...]   (no NAME: all 17, and the
#   multi-sample ones again at equal decoder evaluations, group "evaluations")
#   SEEDS="0 1"   seeds per estimator (default 0 1)
#   EPOCHS=10     epochs per run (600 steps each; default: the recipe's 10)
#   JOBS=2        runs at once (one CPU thread each; logs in runs/logs/)
#   OUT_DIR=runs/estimators   where the checkpoints go (NAME_seedS.pt)
# Resumable: an unfinished run continues from its last epoch, a finished one is skipped; after a
# kill, rerun the same command. On 2 idle CPU cores a run takes about 2 minutes. Then
# `python -m vaebook.recipes ship estimators` and `... ship evaluations` write the shipped records
# (no weights).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m vaebook.recipes run ${*:-estimators evaluations} --resume \
  --seeds ${SEEDS:-0 1} --jobs "${JOBS:-2}" ${OUT_DIR:+--out-dir "$OUT_DIR"} ${EPOCHS:+--epochs "$EPOCHS"}
