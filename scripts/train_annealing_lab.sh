#!/usr/bin/env bash
# Train the annealing lab's grid (book/annealing_lab.ipynb): every schedule of the chapter's
# sliders, as small histories and a few images, no weights, into vaebook/pretrained/lab/.
#
# Usage: bash scripts/train_annealing_lab.sh
#   STEPS=N      steps per run (default 1000: batch 100, Adam 1e-3, dynamic binarization)
#   WORKERS=N    runs trained at once, in separate processes (default 3)
#   THREADS=N    torch CPU threads per worker (default 1: on a shared 2-core machine one
#                thread per process was far faster than two; the grid records what it used)
#   OUT_DIR=DIR  where grid.json and images.npz go (default vaebook/pretrained/lab)
# The runs: 30 binary VAEs (784-200-32 Bernoulli latents, the binary Gumbel-softmax under 24
# temperature schedules, f3 smoothing under 6 beta schedules) and 10 Gaussian VAEs
# (784-200-50 tanh: KL warm-up x free bits, and the importance-weighted bound with K = 5, 50).
# The shipped grid took the time recorded in grid.json ("seconds") on 2 shared CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT_DIR:-vaebook/pretrained/lab}
STEPS=${STEPS:-1000}
THREADS=${THREADS:-1}
WORKERS=${WORKERS:-3}
exec nice $PY -m vaebook.annealing_lab --out "$OUT" --steps "$STEPS" --threads "$THREADS" \
  --workers "$WORKERS" --command "bash scripts/train_annealing_lab.sh (STEPS=$STEPS WORKERS=$WORKERS THREADS=$THREADS)"
