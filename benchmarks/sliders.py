"""Time every slider in the book: milliseconds per move, draw + PNG render.

Runs the chapters (all in the table of contents, or those named) with nbclient
as the book build does (``VAEBOOK_STATIC=1``: each ``explore`` renders every
combination of its values, and each frame is one move), with
``VAEBOOK_SLIDER_TIMINGS`` set so ``vaebook.widgets`` logs every frame, then
prints one row per ``explore()``: the first frame (the one the cell shows), median
and spread of ms per move (every later frame), the render
share (render ms / total ms over its moves: what cutting the render can win), slowest
last, against the target of 100 ms per move (issue 9). Figures, not a test::

    PYTHONPATH=$PWD VAEBOOK_DATA=/work/shared/data python benchmarks/sliders.py
    PYTHONPATH=$PWD VAEBOOK_DATA=/work/shared/data python benchmarks/sliders.py elbo

On a shared machine the numbers are inflated by the others' load: compare
sliders within one run. ``--log FILE`` keeps the raw JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 100.0


def chapters_in_toc() -> list[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return [Path(f).name for f in files if (ROOT / f).with_suffix(".ipynb").exists()]


def run_chapter(name: str, log: Path, timeout: int) -> float:
    """Execute book/<name>.ipynb in a fresh kernel that logs its slider frames."""
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "book" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    os.environ.update(
        {
            "VAEBOOK_STATIC": "1",
            "TQDM_DISABLE": "1",
            "VAEBOOK_SLIDER_TIMINGS": str(log),
            "VAEBOOK_NOTEBOOK": path.name,
        }
    )
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return time.perf_counter() - start


def summarize(rows: list[dict]) -> list[dict]:
    """One entry per explore() call: its frames' ms per move (draw + render)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row.get("notebook"), row.get("explore"), row.get("cell"))
        groups.setdefault(key, []).append(row)
    table = []
    for (notebook, _, cell), rendered in groups.items():
        first = rendered[0]["draw_ms"] + rendered[0]["render_ms"]
        frames = rendered[1:] or rendered  # a move: every frame after the cell's own
        total = [f["draw_ms"] + f["render_ms"] for f in frames]
        table.append(
            {
                "notebook": notebook or "?",
                "cell": cell,
                "title": frames[0].get("title", ""),
                "params": ",".join(frames[0].get("params", [])),
                "first_ms": first,
                "moves": len(frames),
                "median_ms": statistics.median(total),
                "min_ms": min(total),
                "max_ms": max(total),
                "draw_ms": statistics.median(f["draw_ms"] for f in frames),
                "render_ms": statistics.median(f["render_ms"] for f in frames),
                "render_share": sum(f["render_ms"] for f in frames) / sum(total),
                "same_figure": sum(f.get("same_figure", False) for f in frames),
                "full": sum(f.get("full_draw", False) for f in frames),
                "savefig": sum(f.get("savefig", False) for f in rendered),
                "kb": statistics.median(f["png_bytes"] for f in frames) / 1024,
            }
        )
    return sorted(table, key=lambda r: r["median_ms"])


def print_table(table: list[dict], out=sys.stdout) -> None:
    header = (
        f"{'chapter':22} {'cell':>4} {'sliders (title)':42} {'first':>5} {'moves':>5} "
        f"{'median':>7} {'min-max':>13} {'draw':>6} {'render':>6} {'share':>5} "
        f"{'reuse':>5} {'full':>4} {'KB':>4}  target"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for r in table:
        label = f"{r['params']} ({r['title']})" if r["title"] else r["params"]
        verdict = "ok" if r["median_ms"] <= TARGET_MS else "SLOW"
        print(
            f"{Path(r['notebook']).stem[:22]:22} {str(r['cell'] or ''):>4} "
            f"{label[:42]:42} {r['first_ms']:5.0f} {r['moves']:5d} "
            f"{r['median_ms']:7.0f} "
            f"{r['min_ms']:6.0f}-{r['max_ms']:<6.0f} {r['draw_ms']:6.0f} "
            f"{r['render_ms']:6.0f} {r['render_share']:5.0%} {r['same_figure']:5d} "
            f"{r['full']:4d} {r['kb']:4.0f}  "
            f"{verdict} (<= {TARGET_MS:.0f} ms)",
            file=out,
        )
    slow = sum(r["median_ms"] > TARGET_MS for r in table)
    print(
        f"\n{len(table)} sliders, {slow} over {TARGET_MS:.0f} ms median per move, "
        f"slowest move {max(r['max_ms'] for r in table):.0f} ms "
        "(ms per move = draw + PNG render; 'first' = the frame the cell shows before "
        "any move, not counted as a move; 'share' = render ms / total ms over its "
        "moves; 'reuse' = moves that updated the previous figure in place; 'full' = "
        "moves that drew the whole figure instead of blitting what changed)",
        file=out,
    )
    outside = [r for r in table if r["savefig"]]
    for r in outside:  # frames that miss the fast path: a figure to fix
        print(
            f"{Path(r['notebook']).stem} cell {r['cell']}: {r['savefig']} frames "
            "through savefig (content outside the canvas: vaebook.widgets._Frames)",
            file=out,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "chapters",
        nargs="*",
        help="chapter names (book/<name>.ipynb); default: every chapter",
    )
    parser.add_argument("--log", type=Path, help="keep the raw JSON lines here")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    known = chapters_in_toc()
    names = [Path(c).stem for c in args.chapters] or known
    missing = [n for n in names if not (ROOT / "book" / f"{n}.ipynb").exists()]
    if missing:
        parser.error(f"no book/<name>.ipynb for {missing}; chapters are {known}")
    if not os.environ.get("VAEBOOK_DATA"):
        print(
            "note: VAEBOOK_DATA is not set; chapters look for MNIST in their default "
            "place",
            file=sys.stderr,
        )
    log = args.log or Path(tempfile.mkdtemp()) / "slider_timings.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    for name in names:
        seconds = run_chapter(name, log, args.timeout)
        print(f"ran {name} in {seconds:.0f} s", file=sys.stderr)
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    print_table(summarize(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
