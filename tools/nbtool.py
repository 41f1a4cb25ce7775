"""Write chapters as notebooks without outputs: ``python tools/nbtool.py strip book/*.ipynb``.

Notebooks saved from Jupyter or Colab carry outputs, execution counts and
``metadata.widgets`` (which GitHub refuses to render); this removes them.
"""
import sys

import nbformat


def strip(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "strip":
        sys.exit("usage: python tools/nbtool.py strip NOTEBOOK...")
    for p in sys.argv[2:]:
        strip(p)
