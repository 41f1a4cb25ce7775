"""Shared pieces of the chapter generators: ``md``/``code`` cells and the Colab install cell.

Chapters are notebooks committed without outputs; these scripts write them, so a
chapter can be regenerated after an edit (``python tools/chapters/<script>.py``).
"""
from pathlib import Path

import nbformat

ROOT = Path(__file__).parents[2]
INSTALL = '''# In Colab: install the book's package (Jupyter readers have it already).
import sys
if "google.colab" in sys.modules:
    %pip install -q "git+https://github.com/vaebook/vaebook"'''

METADATA = {
    "accelerator": "GPU",  # Colab opens the chapter on a GPU runtime
    "colab": {"provenance": []},
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text: str):
    return nbformat.v4.new_code_cell(text.strip("\n"))


def write(name: str, cells: list) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(METADATA)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name}-{i}"
    path = ROOT / "book" / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path
