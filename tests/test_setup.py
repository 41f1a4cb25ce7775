"""A reader's setup: JupyterLab for `jupyter lab book/`, floors that Colab meets."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
# What Google Colab preinstalls (2025 and later runtimes have these or newer): the
# package's floors must not make pip upgrade them there (ipywidgets 8 breaks Colab's
# widget rendering).
COLAB = {
    "torch": "2.5",
    "torchvision": "0.20",
    "numpy": "1.26",
    "matplotlib": "3.8",
    "tqdm": "4.66",
    "ipywidgets": "7.7.1",
    "pandas": "2.2",
}


def floors() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    found = {}
    for requirement in re.findall(r'"([^"]+)"', block):
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        found[name.lower()] = requirement
        assert "<" not in requirement and "==" not in requirement, (
            f"{requirement}: a cap or pin would fight the reader's environment"
        )
    return found


def version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text))


def test_package_floors_are_what_colab_has():
    found = floors()
    assert found["ipywidgets"].replace(" ", "") == "ipywidgets>=7.6"
    for name, requirement in found.items():
        floor = re.search(r">=\s*([\d.]+)", requirement)
        if name in COLAB and floor:
            assert version(floor.group(1)) <= version(COLAB[name]), (
                f"{requirement} would upgrade Colab's {name} {COLAB[name]}"
            )


def test_jupyter_lab_command_starts_and_serves_the_book():
    """The README's `.venv/bin/jupyter lab book/`, started on 127.0.0.1 for a moment."""
    jupyter = BIN / "jupyter"
    assert (BIN / "jupyter-lab").exists(), (
        f"no jupyter-lab next to {sys.executable}: scripts/setup.sh installs "
        "requirements.txt (jupyterlab)"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        str(jupyter),
        "lab",
        "book/",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.port_retries=0",
    ]
    if os.geteuid() == 0:  # containers and CI run as root; a reader's laptop does not
        command.append("--allow-root")
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": "/tmp"},
    )
    try:
        deadline, page, error = time.monotonic() + 120, "", None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/lab"
                with urllib.request.urlopen(url, timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError as e:
                error = e
                time.sleep(1)
        else:
            log = server.stderr.read()[-3000:] if server.poll() is not None else ""
            pytest.fail(f"jupyter lab did not serve /lab: {error}\n{log}")
        assert "JupyterLab" in page
        url = f"http://127.0.0.1:{port}/api/contents/elbo.ipynb?content=0"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200, "book/ is the server's root"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
