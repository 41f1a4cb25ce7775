#!/usr/bin/env bash
# Retrain the checkpoints shipped in vaebook/pretrained/ (CPU: about 45 minutes on 2 cores;
# a GPU: a few minutes). Usage: bash scripts/train_pretrained.sh [NAME ...]
# NAME is one of: mnist_vae mnist_vae_2d mnist_vae_beta elbo_l2_vae
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=vaebook/pretrained
names=${*:-mnist_vae_2d mnist_vae_beta mnist_vae}
for name in $names; do
  case $name in
    mnist_vae)  # the chapter's main model: 784-512-512-50, dynamic binarization, S=5000 NLL on all 10,000 test images
      $PY -m vaebook.train gaussian-vae --hidden 512 512 --latent-dim 50 --epochs 160 --lr-schedule cosine --beta-warmup 0.05 \
          --batch-size 100 --iw-samples 5000 --dtype float16 --out $OUT/mnist_vae.pt ;;
    mnist_vae_2d)  # a 2-D latent space, for the scatter and the manifold
      $PY -m vaebook.train gaussian-vae --hidden 256 256 --latent-dim 2 --epochs 30 --lr-schedule cosine \
          --iw-samples 1000 --dtype float16 --out $OUT/mnist_vae_2d.pt ;;
    mnist_vae_beta)  # the beta slider: one small model per KL weight
      for beta in 0.1 0.3 1 3 10; do
        $PY -m vaebook.train gaussian-vae --hidden 200 --latent-dim 16 --epochs 15 --lr-schedule cosine \
            --beta $beta --iw-samples 100 --dtype float16 --out $OUT/mnist_vae_beta_$beta.pt
      done ;;
    elbo_l2_vae)  # the notes' alternative regularizer mu^2 + (sigma-1)^2, same setting as mnist_vae_beta_1
      $PY -m vaebook.train l2-regularized-vae --hidden 200 --latent-dim 16 --epochs 15 --lr-schedule cosine \
          --iw-samples 100 --dtype float16 --out $OUT/elbo_l2_vae.pt ;;
    *) echo "unknown pretrained model: $name" >&2; exit 2 ;;
  esac
done
