"""Chapter maintenance: ``python tools/nbtool.py strip|tag-checks NOTEBOOK...``.

``strip``: notebooks saved from Jupyter or Colab carry outputs, execution counts and
``metadata.widgets`` (which GitHub refuses to render); this removes them.

``tag-checks``: cells that only guard the numbers (asserts, with at most the scratch
values they compare and a printed one-line summary) get the tags ``check`` and
``hide-input``: the book collapses their code under a "Show the checks" toggle while
their printed output stays on the page; nbval and Colab run them as before. The tags
go into ``book/<name>.ipynb`` and into its MyST twin ``chapters/<name>.md`` (jupytext
keeps them there as ``:tags: [check, hide-input]``). A cell that stops being a check
loses both tags; ``hide-input`` on a cell without ``check`` (set by hand) is kept.
``--check`` changes nothing and exits 1 if a notebook's tags are out of date.

A cell is a check when it parses as Python, asserts something, and every top-level
statement is one of: ``assert``, ``import``, ``pass``, a ``print(...)`` call, an
assignment (or ``def``, or a ``for``/``if``/``with`` block made of such statements)
whose names no later cell reads. So a cell that computes a value the rest of the
chapter uses, or shows a table or figure, stays visible.
"""

import ast
import re
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.cli import jupytext as jupytext_cli

CHECK_TAG, HIDE_TAG = "check", "hide-input"
QUIET = (ast.Assert, ast.Import, ast.ImportFrom, ast.Pass)
BLOCKS = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
ASSIGNS = (ast.Assign, ast.AugAssign, ast.AnnAssign)


def strip(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:  # IPython magics (%pip ...) and shell escapes
        return None


def _is_print(stmt: ast.stmt) -> bool:
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "print"
    )


def _quiet(stmt: ast.stmt) -> bool:
    """True for a statement that checks, imports, prints or binds scratch names."""
    if isinstance(stmt, QUIET + ASSIGNS + DEFS) or _is_print(stmt):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # a docstring or ``...``
    if isinstance(stmt, BLOCKS):
        parts = [stmt.body, getattr(stmt, "orelse", []), getattr(stmt, "finalbody", [])]
        parts += [h.body for h in getattr(stmt, "handlers", [])]
        return all(_quiet(s) for part in parts for s in part)
    return False


def _bound(tree: ast.AST) -> set[str]:
    """Names a cell binds or mutates (``x =``, ``x[i] =``, ``def x``, ``import x``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(
            node.ctx, ast.Store
        ):
            root = node.value
            while isinstance(root, (ast.Subscript, ast.Attribute)):
                root = root.value
            if isinstance(root, ast.Name):
                names.add(root.id)
        elif isinstance(node, DEFS):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    for node in ast.walk(tree):  # comprehension variables are local to it
        if isinstance(
            node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            for gen in node.generators:
                for name in ast.walk(gen.target):
                    if isinstance(name, ast.Name):
                        names.discard(name.id)
    return names


def _reads(source: str) -> set[str]:
    """Names a cell reads and does not bind itself (every word if it won't parse)."""
    tree = _parse(source)
    if tree is None:
        return set(re.findall(r"[A-Za-z_]\w*", source))
    loads = {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    stores = {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    return loads - (stores - _mutated(tree))


def _mutated(tree: ast.AST) -> set[str]:
    """Names assigned from themselves (``x = x + 1``, ``x += 1``): they read x."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            targets = {
                n.id
                for t in node.targets
                for n in ast.walk(t)
                if isinstance(n, ast.Name)
            }
            used = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            names |= targets & used
    return names


def check_cells(nb) -> list[int]:
    """Indices of the code cells that are checks (see the module docstring)."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    found = []
    for k, i in enumerate(code):
        tree = _parse(nb.cells[i].source)
        if tree is None or not tree.body:
            continue
        if not any(isinstance(n, ast.Assert) for n in ast.walk(tree)):
            continue
        if not all(_quiet(s) for s in tree.body):
            continue
        later = set().union(*(_reads(nb.cells[j].source) for j in code[k + 1 :]))
        if not _bound(tree) & later:
            found.append(i)
    return found


def _wanted_tags(nb) -> dict[int, list[str]]:
    """The tags each code cell should carry, for the cells whose tags change."""
    checks = set(check_cells(nb))
    changes = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        if i in checks:
            new = tags + [t for t in (CHECK_TAG, HIDE_TAG) if t not in tags]
        elif CHECK_TAG in tags:  # it was a check; it no longer is
            new = [t for t in tags if t not in (CHECK_TAG, HIDE_TAG)]
        else:
            continue
        if new != tags:
            changes[i] = new
    return changes


def _set_tags(cell, tags: list[str]) -> None:
    if tags:
        cell.metadata["tags"] = tags
    else:
        cell.metadata.pop("tags", None)


def twin_of(path: Path) -> Path | None:
    """``chapters/<name>.md`` for ``book/<name>.ipynb`` (jupytext.toml's pairing)."""
    twin = path.parent.parent / "chapters" / f"{path.stem}.md"
    return twin if twin.exists() else None


def tag_checks(path: str, dry_run: bool = False) -> dict[int, list[str]]:
    """Tag the check cells of a notebook and of its MyST twin; return the changes."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    changes = _wanted_tags(nb)
    if dry_run or not changes:
        return changes
    twin = twin_of(path)
    md = jupytext.read(twin) if twin else None
    if md is not None:
        pairs = list(zip(nb.cells, md.cells))
        if len(nb.cells) != len(md.cells) or any(
            a.source.strip() != b.source.strip() for a, b in pairs
        ):
            sys.exit(f"{path} and {twin} differ: run jupytext --sync {path} first")
    for i, tags in changes.items():
        _set_tags(nb.cells[i], tags)
    nbformat.write(nb, path)
    if md is not None:  # the notebook is now the newer side: jupytext copies it over
        jupytext_cli(["--sync", "--quiet", str(path)])
    return changes


USAGE = (
    "usage: python tools/nbtool.py strip NOTEBOOK...\n"
    "       python tools/nbtool.py tag-checks [--check] NOTEBOOK..."
)

if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2 or args[0] not in ("strip", "tag-checks"):
        sys.exit(USAGE)
    if args[0] == "strip":
        for p in args[1:]:
            strip(p)
        sys.exit(0)
    dry = "--check" in args
    stale = 0
    for p in [a for a in args[1:] if a != "--check"]:
        changes = tag_checks(p, dry_run=dry)
        for i, tags in changes.items():
            print(f"{p}: cell {i} -> tags {tags}")
        stale += bool(changes)
    if dry and stale:
        sys.exit(f"{stale} notebooks have check cells to (un)tag: run tag-checks")
