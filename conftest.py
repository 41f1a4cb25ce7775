"""Test-session setup shared by the package tests and the notebook checks.

- Points the data root at ../shared/data (the project machines' offline MNIST)
  unless VAEBOOK_DATA is set, and marks the run as a static build, so the
  notebook kernels nbval starts (they inherit this environment) behave as in
  ``jupyter-book build``.
- nbval executes each chapter once; when every cell of a chapter passed, its
  outputs go into the build's jupyter-cache (``_build/.jupyter_cache``), so the
  book build that follows (``execute_notebooks: cache``) reuses them instead of
  executing the chapter a second time.
"""

import os
from pathlib import Path

ROOT = Path(__file__).parent
SHARED_DATA = ROOT.parent / "shared" / "data"

if not os.environ.get("VAEBOOK_DATA") and (SHARED_DATA / "MNIST" / "raw").is_dir():
    os.environ["VAEBOOK_DATA"] = str(SHARED_DATA.resolve())
os.environ["VAEBOOK_STATIC"] = "1"
os.environ.setdefault("TQDM_DISABLE", "1")
# MPLBACKEND stays unset: the kernels nbval starts inherit this environment, and
# ipykernel only selects the inline backend (figures as outputs) when it is unset.

_failed_notebooks: set[str] = set()


def _execute_with_history(self, cell_input, allow_stdin=None):
    """nbval 0.11 executes cells with ``store_history=False``, which breaks IPython's
    trailing-``;`` output suppression (it reads the cell from the history) and the
    execution counts; run cells as Jupyter and the book build do."""
    return self.kc.execute(
        cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False
    )


def pytest_configure(config):
    from nbval.kernel import RunningKernel

    RunningKernel.execute_cell_input = _execute_with_history


def pytest_runtest_logreport(report):
    if report.failed and report.nodeid.split("::")[0].endswith(".ipynb"):
        _failed_notebooks.add(report.nodeid.split("::")[0])


def pytest_runtest_teardown(item, nextitem):
    """After a chapter's last cell: cache the executed notebook if all its cells
    passed."""
    outputs = getattr(item, "test_outputs", None)
    if outputs is None or not hasattr(item, "cell"):
        return
    item.cell.outputs = list(outputs)
    notebook = item.parent
    if nextitem is not None and nextitem.parent is notebook:
        return
    if item.nodeid.split("::")[0] in _failed_notebooks:
        return
    _cache_executed(Path(str(notebook.fspath)), notebook.nb)


def _cache_executed(path: Path, nb) -> None:
    import copy

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = copy.deepcopy(nb)
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            for out in cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = count
    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    cache.cache_notebook_bundle(
        CacheBundleIn(nb, str(path.resolve()), data={"executed_by": "nbval"}),
        check_validity=False,
        overwrite=True,
    )
