#!/usr/bin/env bash
# Retrain the checkpoints of the chapter "Computing q(z|x)" (book/computing_q.ipynb): three VAEs with
# the same 784-200-200-16 MLPs and the same training, differing only in the posterior family q(z|x).
# CPU: about 3-4 minutes each on one core; a GPU: about a minute each.
# Usage: bash scripts/train_pretrained_posteriors.sh [NAME ...]
# NAME is one of: posterior_diagonal_vae posterior_fullcov_vae posterior_planar_vae
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=vaebook/pretrained
# Shared by all three: dynamic binarization, 25 epochs, test -ELBO and IW NLL (S=1000) on all 10,000
# test images, and the S=1000 check on the first 500 that the chapter recomputes.
# (On a busy CPU, OMP_NUM_THREADS=1 avoids thread oversubscription: it was 10x faster here.)
COMMON="--hidden 200 200 --latent-dim 16 --epochs 25 --lr-schedule cosine --batch-size 100
        --iw-samples 1000 --check-limit 500 --check-iw-samples 1000 --dtype float16"
names=${*:-posterior_diagonal_vae posterior_fullcov_vae posterior_planar_vae}
for name in $names; do
  case $name in
    posterior_diagonal_vae)  # q(z|x) = N(mu, diag(sigma^2)): the usual reparameterization
      $PY -m vaebook.train posterior-vae --posterior diagonal $COMMON --out $OUT/$name.pt ;;
    posterior_fullcov_vae)   # q(z|x) = N(mu, L L^T), L lower-triangular with a positive diagonal
      $PY -m vaebook.train posterior-vae --posterior fullcov $COMMON --out $OUT/$name.pt ;;
    posterior_planar_vae)    # diagonal Gaussian followed by 4 amortized planar steps (Rezende & Mohamed 2015)
      $PY -m vaebook.train posterior-vae --posterior planar --num-flows 4 $COMMON --out $OUT/$name.pt ;;
    *) echo "unknown pretrained model: $name" >&2; exit 2 ;;
  esac
done
