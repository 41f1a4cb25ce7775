"""Build the book once per session and serve it on 127.0.0.1 for the browser checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
HTML = ROOT / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def built_book():
    """``jupyter-book build`` with warnings as errors (executed chapters are cached)."""
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jb), "build", str(ROOT), "--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=3000,
        env={**os.environ, "VAEBOOK_STATIC": "1"},
    )
    log = result.stdout[-6000:] + result.stderr[-6000:]
    assert result.returncode == 0, f"jupyter-book build failed:\n{log}"
    return HTML


@pytest.fixture(scope="session")
def site(built_book):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from page_weight import serve  # the benchmark's local server, quiet

    server, url = serve(built_book)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """``open_lab(cells) -> (url of the notebook, folder)``: a real JupyterLab server
    (ipywidgets 8 front end) on 127.0.0.1 serving a notebook of those code cells; the
    kernel imports this checkout's vaebook. Servers stop at the end of the module."""
    import socket
    import time

    import nbformat

    servers = []

    def open_lab(cells: list[str]) -> tuple[str, Path]:
        folder = tmp_path_factory.mktemp("lab")
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, folder / "live.ipynb")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **os.environ,
            "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
            ),
        }
        env.pop("VAEBOOK_STATIC", None)
        command = [
            str(Path(sys.executable).parent / "jupyter"),
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--IdentityProvider.token=",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.news_url=None",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        log = open(folder / "server.log", "w")
        servers.append(
            (subprocess.Popen(command, env=env, stdout=log, stderr=log), log)
        )
        time.sleep(0.5)
        return f"http://127.0.0.1:{port}/lab/tree/live.ipynb", folder

    yield open_lab
    for server, log in servers:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def open_notebook(browser):
    """``open_notebook(url, width=1280)``: a page on the JupyterLab notebook ``url``,
    once its kernel is idle."""
    import time

    def open_(url: str, width: int = 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        deadline = time.monotonic() + 120
        while True:
            try:
                page.goto(url)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        page.wait_for_selector(".jp-Notebook .jp-InputArea-editor", timeout=120_000)
        page.wait_for_selector("#jp-main-statusbar :text('Idle')", timeout=120_000)
        return page

    return open_
