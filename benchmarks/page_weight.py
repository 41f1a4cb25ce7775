"""Weigh every page of the built book: bytes transferred and time to typeset math.

Serves ``_build/html`` (or the folder given) on 127.0.0.1 with Python's plain
``http.server`` (no compression, as the simplest static host would serve it), loads
each page in headless chromium with an empty cache (a new browser context per load),
and prints one row per page: bytes transferred over the network (the HTML, and every
script, style sheet, font and image it pulls in; ``data:`` images are inside the HTML)
and the time from navigation until MathJax has typeset the page (or until the load
event on a page without math), median of ``--loads`` loads, slowest last, against the
goals of issue 16 (2.5 MB, 2 s). Scrubber frames are image files the page fetches when
a slider moves (``book/_ext/vaebook_build.py``): a load counts the start frames only;
``--moves`` adds, per page with scrubbers, the bytes a move fetches (its frame and the
frames one step away) and the time until its frame shows::

    python benchmarks/page_weight.py                 # every page of _build/html
    python benchmarks/page_weight.py --pages book/elbo book/vq_vae --loads 5
    python benchmarks/page_weight.py --by-type       # where the bytes go, per page
    python benchmarks/page_weight.py --moves         # what a slider move costs

On a shared machine the times are inflated by the others' load: compare pages within
one run. ``--cpus 2`` pins chromium to two cores (taskset) where there are more.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import statistics
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
GOAL_BYTES, GOAL_SECONDS = 2.5e6, 2.0

# resolves once MathJax has typeset the page (or at once on a page without MathJax)
TYPESET_JS = """() => new Promise(done => {
  const finish = () => done(performance.now());
  const wait = () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(finish);
    } else if (document.querySelector('script[src*="mathjax"]')) {
      setTimeout(wait, 10);
    } else {
      finish();
    }
  };
  wait();
})"""


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def pages_of(folder: Path) -> list[str]:
    """Every page of the book (``book/elbo``, ...), the search page last."""
    pages = sorted(
        str(p.relative_to(folder).with_suffix(""))
        for p in folder.rglob("*.html")
        if not p.relative_to(folder).parts[0].startswith(("_", "."))
        and p.name not in ("genindex.html", "search.html", "index.html")
    )
    return pages + (["search"] if (folder / "search.html").exists() else [])


def load(browser, url: str) -> tuple[int, float, Counter]:
    """One cold load: (bytes transferred, seconds to typeset, bytes by kind)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    kinds, sizes = {}, Counter()

    def sent(e):
        kinds[e["requestId"]] = e.get("type", "Other")

    def finished(e):
        sizes[kinds.get(e["requestId"], "Other")] += e["encodedDataLength"]

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", finished)

    def local_only(route):
        host = urlparse(route.request.url).hostname
        return route.continue_() if host == "127.0.0.1" else route.abort()

    context.route("**/*", local_only)
    page.goto(url, wait_until="load")
    seconds = page.evaluate(TYPESET_JS) / 1000
    page.wait_for_timeout(500)  # the fonts MathJax asked for
    context.close()
    return sum(sizes.values()), seconds, sizes


# moves each slider of each scrubber to its other end, one at a time, and resolves to
# the milliseconds each move took to show its frame
MOVES_JS = """async () => {
  const times = [];
  for (const root of document.querySelectorAll('.vaebook-scrubber')) {
    const img = root.querySelector('img');
    for (const input of root.querySelectorAll('input[type=range]')) {
      const t0 = performance.now();
      input.value = input.value === input.max ? input.min : input.max;
      input.dispatchEvent(new Event('input'));
      await img.decode().catch(() => null);
      times.push(performance.now() - t0);
      await new Promise(done => setTimeout(done, 300));  // the frames fetched ahead
    }
  }
  return times;
}"""


def moves(browser, url: str) -> tuple[int, int, float]:
    """(slider moves, bytes they fetched, median ms until a move's frame showed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.evaluate(TYPESET_JS)
    page.wait_for_timeout(1000)  # MathJax's fonts: not a move's bytes
    fetched = []  # data: frames (inline, as in a notebook) fetch nothing

    def finished(request):
        if not request.url.startswith("data:"):
            fetched.append(request.sizes()["responseBodySize"])

    page.on("requestfinished", finished)
    times = page.evaluate(MOVES_JS)
    context.close()
    return len(times), sum(fetched), statistics.median(times) if times else 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("html", nargs="?", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--pages", nargs="*", help="e.g. book/elbo (default: all)")
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--by-type", action="store_true", help="bytes per kind")
    parser.add_argument("--cpus", type=int, help="pin chromium to this many cores")
    parser.add_argument("--moves", action="store_true", help="bytes a slider move gets")
    args = parser.parse_args(argv)
    folder = Path(args.html)
    if not (folder / "index.html").exists():
        raise SystemExit(f"no built book in {folder}: run jupyter-book build first")
    if args.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cpus]))
    from playwright.sync_api import sync_playwright

    server, site = serve(folder)
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        for name in args.pages or pages_of(folder):
            runs = [load(browser, f"{site}/{name}.html") for _ in range(args.loads)]
            size = int(statistics.median(r[0] for r in runs))
            seconds = statistics.median(r[1] for r in runs)
            rows.append((seconds, size, name, runs[0][2]))
        scrubbers = [
            (name, moves(browser, f"{site}/{name}.html"))
            for name in (args.pages or pages_of(folder))
            if args.moves
            and "vaebook-scrubber" in (folder / f"{name}.html").read_text()
        ]
        browser.close()
    server.shutdown()
    print(f"{'page':32} {'MB':>6} {'typeset s':>10}   (median of {args.loads} loads)")
    for seconds, size, name, kinds in sorted(rows):
        flags = (" over 2.5 MB" if size > GOAL_BYTES else "") + (
            " over 2 s" if seconds > GOAL_SECONDS else ""
        )
        print(f"{name:32} {size / 1e6:6.2f} {seconds:10.2f}{flags}")
        if args.by_type:
            parts = ", ".join(f"{k} {v / 1e3:.0f} kB" for k, v in kinds.most_common())
            print(f"{'':32} {parts}")
    if scrubbers:
        print(f"\n{'page':32} {'moves':>6} {'kB/move':>8} {'ms/move':>8}")
    for name, (count, size, ms) in scrubbers:
        print(f"{name:32} {count:6} {size / 1e3 / max(count, 1):8.0f} {ms:8.0f}")
    heaviest = max(r[1] for r in rows) / 1e6
    slowest = max(r[0] for r in rows)
    print(f"heaviest {heaviest:.2f} MB, slowest {slowest:.2f} s; goals 2.5 MB, 2 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
