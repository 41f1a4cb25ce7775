#!/usr/bin/env bash
# Retrain the checkpoints of the chapters "Gradient estimation" and "The reparameterization trick"
# (vaebook/pretrained/grad_*.pt, reparam_*.pt). Same network for all (784-200-20 MLP, tanh), same
# training (10 epochs, Adam 1e-3 with cosine decay, batch 100, dynamic binarization, seed 0); only the
# gradient estimator or the posterior family differs. CPU: a few minutes each on 2 cores; a GPU: seconds.
# Usage: bash scripts/train_pretrained_estimators.sh [NAME ...]
# NAME is one of: grad_pathwise_vae grad_score_vae reparam_gaussian_vae reparam_laplace_vae reparam_logistic_vae
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=vaebook/pretrained
train() { $PY -m vaebook.train "$@"; }
COMMON="--hidden 200 --latent-dim 20 --epochs 10 --lr-schedule cosine --batch-size 100 --iw-samples 1000 --dtype float16"
names=${*:-grad_pathwise_vae grad_score_vae reparam_gaussian_vae reparam_laplace_vae reparam_logistic_vae}
for name in $names; do
  case $name in
    grad_pathwise_vae)  # Gaussian VAE, pathwise gradient, 4 samples of z per image (as many as the score function gets)
      train gaussian-vae $COMMON --num-samples 4 --out $OUT/grad_pathwise_vae.pt ;;
    grad_score_vae)  # the same model, encoder trained with the score function and the leave-one-out baseline
      train score-function-vae $COMMON --baseline leave-one-out --num-samples 4 --out $OUT/grad_score_vae.pt ;;
    reparam_gaussian_vae)  # q(z|x) Gaussian, prior N(0, I), closed-form KL, 1 sample of z
      train reparam-vae $COMMON --posterior gaussian --prior matching --out $OUT/reparam_gaussian_vae.pt ;;
    reparam_laplace_vae)  # q(z|x) Laplace, prior Laplace(0, 1), closed-form KL
      train reparam-vae $COMMON --posterior laplace --prior matching --out $OUT/reparam_laplace_vae.pt ;;
    reparam_logistic_vae)  # q(z|x) Logistic, prior N(0, I): no closed-form KL, Monte Carlo
      train reparam-vae $COMMON --posterior logistic --prior gaussian --out $OUT/reparam_logistic_vae.pt ;;
    *) echo "unknown pretrained model: $name" >&2; exit 2 ;;
  esac
done
