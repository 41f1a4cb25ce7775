#!/usr/bin/env bash
# Set up a fresh machine: Debian's chromium (for the rendered-book checks), a virtual
# environment in .venv with requirements.txt (JupyterLab included: `.venv/bin/jupyter lab
# book/`), vaebook installed in it (editable), and ipywidgets 7.7.1 (what Colab ships) in
# .ipywidgets7/ for tests/test_widgets.py, which runs the live sliders under it too.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
# ipywidgets 7 beside the venv's 8, only on the PYTHONPATH of that one test's subprocess
[ -d .ipywidgets7/ipywidgets ] || .venv/bin/python -m pip install -q --no-deps \
  --target .ipywidgets7 ipywidgets==7.7.1 "widgetsnbextension~=3.6.0" \
  "jupyterlab_widgets~=1.0" ipython_genutils==0.2.0
.venv/bin/jupyter lab --version >/dev/null
.venv/bin/python -c "import torch, vaebook; print('torch', torch.__version__, '| vaebook', vaebook.__version__)"
