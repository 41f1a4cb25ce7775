#!/usr/bin/env bash
# Train the annealing lab's grid (book/annealing_lab.ipynb) into vaebook/pretrained/lab/:
# histories, test numbers with standard errors and a few uint8 images, no weights.
#
# Usage: bash scripts/train_annealing_lab.sh
#   WORK=DIR     one record per finished run (default build/annealing_lab): rerunning the
#                script trains only what is missing there, then assembles the grid
#   WORKERS=N    processes sharing the runs (default 1; each takes a run by a lock file)
#   OUT_DIR=DIR  where grid.json and images.npz go (default vaebook/pretrained/lab)
# One torch thread per process (the grid's budget: about 45 minutes of one core).
# What it trains (vaebook.experiments.annealing_lab.grid_tasks, most needed first): a
# binary VAE (784-200-32, 1,000 steps) under 27 temperature schedules of the binary
# Gumbel-softmax and 18 sharpness schedules of the smoothers f1, f2, f3; a Gaussian VAE
# (784-200-50, 6,000 steps) under 3 KL warm-ups x 2 free-bits settings; the same VAE
# trained 1,000 steps on the IW bound with K = 1, 5, 20; extra seeds (1, 2) for every
# setting the chapter's verdicts compare. A run that did not finish is listed in
# grid.json's "missing".
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT_DIR:-vaebook/pretrained/lab}
WORK=${WORK:-build/annealing_lab}
export OMP_NUM_THREADS=1
LAB=(nice -n 5 "$PY" -m vaebook.experiments.annealing_lab --out "$OUT" --work "$WORK"
  --threads 1 --command "bash scripts/train_annealing_lab.sh")
for _ in $(seq 1 "${WORKERS:-1}"); do "${LAB[@]}" --train-only & done
wait
"${LAB[@]}" --assemble-only
