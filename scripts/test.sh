#!/usr/bin/env bash
# Every check, in the order they build on each other:
#   1. the package tests and every chapter under nbval (each chapter executes once here; its
#      outputs go into the build cache, see conftest.py);
#   2. the book built with warnings as errors, then opened offline in headless chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export VAEBOOK_STATIC=1 TQDM_DISABLE=1
py=.venv/bin/python
$py -m pytest -p no:cacheprovider tests --ignore=tests/book book/*.ipynb \
    --nbval-lax --nbval-current-env --nbval-cell-timeout=600 --timeout=1800
$py -m pytest -p no:cacheprovider tests/book --timeout=1800
