"""The built HTML book, opened offline in headless chromium as a reader would see it."""

import re
import statistics
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [
    c["file"] for part in TOC.get("parts", []) for c in part["chapters"]
]
CHAPTERS = [p for p in PAGES if (ROOT / p).with_suffix(".ipynb").exists()]
SHOTS = ROOT / "_build" / "screenshots"  # not committed: look at them after a run
LAPTOP, PHONE = 1280, 400  # window widths (px); the layout rules are for LAPTOP
MIN_SHOWN = 0.8  # a figure is shown at >= 80 % of its natural width
SCROLL_TAG = "scroll-x"  # a cell tagged so may scroll sideways on purpose
PHONE_SHOWN = 0.7  # at PHONE width a figure keeps >= 70 % of its natural width
MIN_PAD = 4  # px of side padding in a table cell
MAX_FIXED = 1.7e6  # bytes a page pulls in besides its own HTML and images (was 3.6 MB;
# MathJax fetches the fonts of the glyphs a page uses: 1.61 MB on discrete_latents)
MAX_PAGE = 2.5e6  # bytes transferred to show a page (issue 16)
MAX_HTML = 1e6  # characters of a page's HTML (scrubber frames are files)
# resolves to the natural width of a scrubber's frame once it has loaded (0: broken)
FRAME_SHOWN_JS = "img => img.decode().then(() => img.naturalWidth, () => 0)"
EXECUTED = ROOT / "_build" / "jupyter_execute"  # the notebooks as the build ran them
CACHE = ROOT / "_build" / ".jupyter_cache"  # execute_notebooks: cache

# Blocks that must fit the text column; each is checked for content wider than its box
# (scrollWidth > clientWidth) and for a box that sticks out of the column.
# (the first kind that matches an element names it: outputs are div.highlight too)
BLOCKS = {
    "output": ".cell_output pre, .cell_output > .output",
    "code": "div.cell_input pre, article div.highlight pre",
    "table": "article table",
    "equation": "article div.math, article mjx-container[display='true']",
    "slider": ".vaebook-scrubber",
}
OVERFLOW_JS = """([blocks, tag]) => {
  const art = document.querySelector('article.bd-article')
    || document.querySelector('article');
  const cs = getComputedStyle(art), box = art.getBoundingClientRect();
  const right = box.right - parseFloat(cs.paddingRight);
  const cells = Array.from(art.querySelectorAll('div.cell'));
  const found = [], seen = new Set();
  for (const [kind, selector] of Object.entries(blocks)) {
    for (const el of art.querySelectorAll(selector)) {
      if (seen.has(el)) continue;
      seen.add(el);
      const r = el.getBoundingClientRect();
      if (r.width === 0 || el.closest('.tag_' + tag)) continue;
      const hidden = el.scrollWidth - el.clientWidth, out = r.right - right;
      if (hidden > 1 || out > 1) {
        const cell = el.closest('div.cell');
        const text = (el.getAttribute('aria-label') || el.textContent || '').trim();
        found.push({el, kind, cell: cell ? cells.indexOf(cell) + 1 : null,
                    wide: Math.round(Math.max(el.scrollWidth, r.width)),
                    column: Math.round(right - box.left - parseFloat(cs.paddingLeft)),
                    text: text.replace(/\\s+/g, ' ').slice(0, 60)});
      }
    }
  }
  // report the innermost block only (a pre inside an overflowing output is one problem)
  return found.filter(f => !found.some(g => g.el !== f.el && f.el.contains(g.el)))
              .map(({el, ...rest}) => rest);
}"""
SHRUNK_JS = """(minShown) => Array.from(document.querySelectorAll('article img'))
  .filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().width > 0)
  .map((i, k) => ({k: k + 1, natural: i.naturalWidth,
                   shown: Math.round(i.getBoundingClientRect().width),
                   cell: (() => { const c = i.closest('div.cell');
                     const all = document.querySelectorAll('article div.cell');
                     return c ? Array.from(all)
                       .indexOf(c) + 1 : null; })(),
                   alt: (i.alt || '').slice(0, 40)}))
  .filter(i => i.shown < minShown * i.natural)"""


def layout_problems(page) -> list[str]:
    """Blocks wider than the column and figures shown below MIN_SHOWN of their width."""
    problems = [
        f"{b['kind']} in cell {b['cell']}: {b['wide']} px > column {b['column']} px"
        f" ({b['text']!r})"
        for b in page.evaluate(OVERFLOW_JS, [BLOCKS, SCROLL_TAG])
    ]
    problems += [
        f"figure {i['k']} in cell {i['cell']} shown at {i['shown']} of "
        f"{i['natural']} px ({i['shown'] / i['natural']:.0%}) {i['alt']!r}"
        for i in page.evaluate(SHRUNK_JS, MIN_SHOWN)
    ]
    return problems


def open_page(browser, site, page_path, width=LAPTOP):
    """Load a page, non-local requests blocked: (page, console errors, blocked urls)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    blocked, errors = [], []

    def route(r):
        if urlparse(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith(
            "data:"
        ):
            return r.continue_()
        blocked.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(f"{site}/{page_path}.html", wait_until="load")
    assert response.ok, f"{page_path}: HTTP {response.status}"
    page.wait_for_timeout(1500)  # MathJax typesets after load
    return page, errors, blocked


@pytest.mark.parametrize("page_path", PAGES)
def test_page_renders_offline_with_images_and_no_errors(browser, site, page_path):
    page, errors, blocked = open_page(browser, site, page_path)
    assert page.locator("article h1").count() >= 1
    broken = page.evaluate(
        "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src.slice(0, 80))"
    )
    assert broken == [], f"images that did not load: {broken}"
    assert (
        page.locator(
            ".cell_output .output.traceback, .cell_output .output.error"
        ).count()
        == 0
    )
    assert "Traceback (most recent call last)" not in page.inner_text("article")
    assert errors == [], f"console errors: {errors}"
    assert blocked == [], f"the page asked the network for {blocked}"
    if page.locator(".math").count():
        assert page.locator("mjx-container").count() > 0, (
            "MathJax did not typeset the math"
        )
    page.context.close()


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_chapter_has_figures_and_a_colab_link_to_its_notebook(browser, site, page_path):
    page, _, _ = open_page(browser, site, page_path)
    assert page.locator(".cell_output img").count() >= 1, (
        "a chapter shows at least one figure"
    )
    repo = urlparse(CONFIG["repository"]["url"]).path.strip("/")
    expected = (
        f"{CONFIG['launch_buttons']['colab_url']}/github/{repo}/blob/"
        f"{CONFIG['repository']['branch']}/{page_path}.ipynb"
    )
    links = page.eval_on_selector_all("a[href*='colab']", "as => as.map(a => a.href)")
    assert expected in links, f"no Colab link to {expected}; found {links}"
    page.context.close()


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_scrubbers_change_the_figure_when_moved(browser, site, page_path):
    page, _, _ = open_page(browser, site, page_path)
    scrubbers = page.locator(".vaebook-scrubber")
    for i in range(scrubbers.count()):
        scrubber = scrubbers.nth(i)
        scrubber.scroll_into_view_if_needed()
        sliders = scrubber.locator("input[type=range]")
        for j in range(sliders.count()):
            slider = sliders.nth(j)
            before_src = scrubber.locator("img").get_attribute("src")
            before_label = scrubber.locator(".value").nth(j).inner_text()
            current, top = int(slider.input_value()), int(slider.get_attribute("max"))
            slider.fill(str(0 if current == top else top))
            assert scrubber.locator("img").get_attribute("src") != before_src, (
                f"slider {j} did not change the figure"
            )
            assert scrubber.locator(".value").nth(j).inner_text() != before_label
            assert scrubber.locator("img").evaluate(FRAME_SHOWN_JS) > 0, (
                f"slider {j}: the frame's file did not load"
            )
        if i == 0:
            scrubber.screenshot(
                path=str(SHOTS / f"{Path(page_path).name}-scrubber.png")
            )
    page.context.close()


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_scrubbers_work_offline_from_files(browser, built_book, page_path):
    """Opened from disk (file://, no server), a move loads its frame's file."""
    html = built_book / f"{page_path}.html"
    if "vaebook-scrubber" not in html.read_text():
        pytest.skip("no scrubber")
    context = browser.new_context(viewport={"width": LAPTOP, "height": 900})
    page = context.new_page()
    page.goto(html.as_uri(), wait_until="load")
    scrubber = page.locator(".vaebook-scrubber").first
    scrubber.scroll_into_view_if_needed()
    img = scrubber.locator("img")
    assert img.evaluate(FRAME_SHOWN_JS) > 0, "the start frame did not load"
    slider = scrubber.locator("input[type=range]").first
    current, top = int(slider.input_value()), int(slider.get_attribute("max"))
    before = img.get_attribute("src")
    slider.fill(str(0 if current == top else top))
    assert img.get_attribute("src") != before
    assert img.evaluate(FRAME_SHOWN_JS) > 0, "the frame's file did not load"
    context.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_pages_stay_light(built_book, page_path):
    """Scrubber frames are image files the page loads on demand, not inline data
    (annealing_lab's HTML was 3.0 MB of them): every page's HTML is light."""
    text = (built_book / f"{page_path}.html").read_text()
    for script in re.findall(r"var frames=(\[.*?\]);", text):
        assert "iVBOR" not in script, f"{page_path}: a scrubber has inline frames"
    assert len(text) < MAX_HTML, (
        f"{page_path}.html is {len(text) / 1e6:.1f} MB: what is inline?"
    )


@pytest.mark.parametrize("page_path", PAGES)
def test_blocks_fit_the_column_and_figures_keep_their_size(browser, site, page_path):
    """At a laptop width: no code, output, table, equation wider than the column (cells
    tagged
    ``scroll-x`` may scroll), and every figure shown at >= 80 % of its natural width."""
    page, _, _ = open_page(browser, site, page_path)
    problems = layout_problems(page)
    page.context.close()
    assert problems == [], (
        f"{page_path}: {len(problems)} blocks do not fit:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("page_path", PAGES)
def test_screenshots_at_laptop_and_phone_width(browser, site, page_path):
    """Whole-page screenshots in _build/screenshots/ to look at; the page never scrolls
    sideways at either width (wide blocks scroll inside their own box)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (LAPTOP, PHONE):
        page, _, _ = open_page(browser, site, page_path, width)
        page.screenshot(
            path=str(SHOTS / f"{Path(page_path).name}-{width}.png"), full_page=True
        )
        page_width = page.evaluate("document.documentElement.scrollWidth")
        page.context.close()
        assert page_width <= width, f"at {width} px the page is {page_width} px wide"


# -- Tables (issue 16): numbers readable, aligned, labelled, and all there -------------

# The test finds numeric columns on its own (not with _static/vaebook.js's marks): a
# column of <td> whose non-empty cells all read as numbers ("1,024", "-3.5e-04",
# "128.6 ± 0.4", "12 %"; "—" and "nan" are missing values).
TABLES_JS = r"""() => {
  const NUM = /^[+\-\u2212]?(\d{1,3}(,\d{3})+|\d*)(\.\d+)?(e[+\-\u2212]?\d+)?\s*%?$/i;
  const MISSING = ["", "nan", "NaN", "<NA>", "None", "\u2014", "\u2013", "-"];
  const isNum = t => { const p = t.split("\u00b1");
    return p.length <= 2 && p.every(x => /\d/.test(x) && NUM.test(x.trim())); };
  const cells = Array.from(document.querySelectorAll("article div.cell"));
  return Array.from(document.querySelectorAll("article div.cell_output table"))
    .map((table, k) => {
      const rows = Array.from(table.rows), grid = rows.map(() => []);
      rows.forEach((row, r) => { let c = 0;
        for (const cell of row.cells) { while (grid[r][c]) c++;
          for (let i = 0; i < cell.rowSpan && r + i < rows.length; i++)
            for (let j = 0; j < cell.colSpan; j++) grid[r + i][c + j] = cell;
          c += cell.colSpan; } });
      const head = table.tHead ? table.tHead.rows.length : 0;
      const width = Math.max(0, ...grid.map(r => r.length));
      const problems = [];
      const label = x => (x ? x.textContent.trim() : "");
      const numeric = [];
      for (let c = 0; c < width; c++) {
        const tds = grid.slice(head).map(r => r[c]).filter(x => x && x.tagName == "TD");
        const vals = tds.filter(x => !MISSING.includes(label(x)));
        numeric[c] = vals.length > 0 && vals.every(x => isNum(label(x)));
        if (!numeric[c]) continue;
        const name = label(grid[head - 1] && grid[head - 1][c]) ||
                     label(grid[0] && grid[0][c]) || `column ${c}`;
        for (const td of vals) {
          const s = getComputedStyle(td);
          const pad = Math.min(parseFloat(s.paddingLeft), parseFloat(s.paddingRight));
          if (pad < MIN_PAD) { problems.push(
            `${name}: cell ${label(td)} has ${pad} px side padding`); break; }
          if (!["right", "end"].includes(s.textAlign)) { problems.push(
            `${name}: number ${label(td)} aligned ${s.textAlign}`); break; }
        }
        for (let r = 0; r < head; r++) {
          const th = grid[r][c];
          if (th && th.colSpan === 1 && label(th) &&
              !["right", "end"].includes(getComputedStyle(th).textAlign))
            problems.push(`${name}: its header is not right-aligned over numbers`);
        }
      }
      // column labels that are bare numbers (1, 5, 50, 500) need the name of what
      // they count: the corner cell of their header row (pandas' columns.name)
      const index = grid.length > head ?
        grid[head].filter(x => x && x.tagName === "TH").length : 0;
      for (let r = 0; r < head; r++) {
        const labels = grid[r].slice(index).map(label).filter(t => t);
        const corner = grid[r].slice(0, index).map(label).join("");
        if (index && labels.some(t => isNum(t)) && !corner)
          problems.push(`header row ${r + 1} labels columns ${labels.join(", ")} ` +
                        "with bare numbers and no name");
      }
      const cell = table.closest("div.cell");
      return {k: k + 1, cell: cell ? cells.indexOf(cell) + 1 : null,
              rows: table.tBodies.length ?
                Array.from(table.tBodies).reduce((n, b) => n + b.rows.length, 0) :
                rows.length - head,
              problems};
    });
}""".replace("MIN_PAD", str(MIN_PAD))


class _Rows(HTMLParser):
    """Rows in each <table> of an HTML output, and pandas' "N rows × M columns"."""

    def __init__(self):
        super().__init__()
        self.tables, self.depth, self.in_body, self.text = [], 0, False, []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(0)
        elif tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body and self.tables:
            self.tables[-1] += 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self.in_body = False

    def handle_data(self, data):
        self.text.append(data)


def executed(page_path: str):
    """The chapter with the outputs the build rendered: from the build's jupyter-cache
    (a build that reuses the cache writes _build/jupyter_execute without outputs)."""
    from jupyter_cache import get_cache

    source = ROOT / f"{page_path}.ipynb"
    if CACHE.exists():
        try:
            return get_cache(CACHE).merge_match_into_file(source)[1]
        except KeyError:  # no cached run of this version of the notebook
            pass
    path = EXECUTED / f"{page_path}.ipynb"
    return nbformat.read(path, as_version=4) if path.exists() else None


def notebook_tables(nb) -> list[dict]:
    """Each table in a notebook's outputs: rows in its HTML and the row count pandas
    printed when it cut the table short."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            if "<table" not in html:
                continue
            parser = _Rows()
            parser.feed(html)
            shape = re.search(r"(\d[\d,]*) rows × (\d+) columns", "".join(parser.text))
            for rows in parser.tables:
                total = int(shape.group(1).replace(",", "")) if shape else rows
                found.append({"cell": i, "html_rows": rows, "rows": total})
    return found


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_tables_are_padded_aligned_and_labelled(browser, site, page_path):
    """Numbers in a table have >= 4 px side padding and are right-aligned under
    right-aligned headers, in plain DataFrame and Styler tables alike; columns labelled
    with bare numbers carry a name (the lab's "-L_S at test, S =" had gone)."""
    page, _, _ = open_page(browser, site, page_path)
    tables = page.evaluate(TABLES_JS)
    page.context.close()
    problems = [
        f"table {t['k']} (cell {t['cell']}): {p}" for t in tables for p in t["problems"]
    ]
    assert problems == [], f"{page_path}:\n" + "\n".join(problems)


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_tables_show_every_row_of_their_source(browser, site, page_path):
    """The page shows as many tables as the executed notebook output, each with all
    the rows of its source (not pandas' truncated view, nothing lost on the way)."""
    nb = executed(page_path)
    if nb is None:
        pytest.skip(f"no executed notebook in {CACHE} or {EXECUTED}: build the book")
    source = notebook_tables(nb)
    page, _, _ = open_page(browser, site, page_path)
    shown = page.evaluate(TABLES_JS)
    page.context.close()
    assert len(shown) == len(source), (
        f"{len(shown)} tables on the page, {len(source)} in the notebook's outputs"
    )
    wrong = [
        f"table {t['k']} (notebook cell {s['cell']}): {t['rows']} rows shown, "
        f"{s['rows']} in its source"
        for t, s in zip(shown, source)
        if t["rows"] != s["rows"] or s["html_rows"] != s["rows"]
    ]
    assert wrong == [], f"{page_path}:\n" + "\n".join(wrong)


# -- Phone width (issue 16): what is wider than the screen shows that it scrolls -------

SCROLL_HINT_JS = """(shown) => {
  const found = [];
  const boxes = document.querySelectorAll(
    "article mjx-container[display='true'], article .vb-table-box, " +
    "article .vb-figure-box, article .vaebook-frame");
  for (const box of boxes) {
    const hidden = box.scrollWidth - box.clientWidth;
    if (hidden <= 1 || box.getBoundingClientRect().width === 0) continue;
    const s = getComputedStyle(box);
    const mask = s.maskImage || s.webkitMaskImage || "none";
    const what = box.matches("mjx-container") ? "equation" :
      box.querySelector("table") ? "table" : "figure";
    if (!["auto", "scroll"].includes(s.overflowX))
      found.push(`${what} ${hidden} px too wide does not scroll`);
    else if (box.scrollLeft === 0 && mask === "none")
      found.push(`${what} scrolls ${hidden} px with no fade at its edge`);
  }
  for (const img of document.querySelectorAll("article div.cell_output img")) {
    const w = img.getBoundingClientRect().width;
    if (w && img.naturalWidth && w < shown * img.naturalWidth - 1)
      found.push(`figure shown at ${Math.round(w)} of ${img.naturalWidth} px ` +
                 `(${img.alt.slice(0, 30)})`);
  }
  for (const label of document.querySelectorAll(".vaebook-scrubber label")) {
    const parts = Array.from(label.children).map(c => c.getBoundingClientRect());
    const tops = new Set(parts.map(r => Math.round(r.top + r.height / 2)));
    if (Math.max(...tops) - Math.min(...tops) > 4)
      found.push(`slider ${label.textContent.trim()}: its value wraps below it`);
  }
  return found;
}"""


@pytest.mark.parametrize("page_path", PAGES)
def test_wide_blocks_scroll_visibly_at_phone_width(browser, site, page_path):
    """At 400 px: a display equation, table or figure wider than the column scrolls
    inside its box and fades at the edge where more is hidden; figures keep >= 70 % of
    their natural width (readable text; they scroll instead of shrinking); a static
    scrubber's value label stays on its slider's line."""
    page, _, _ = open_page(browser, site, page_path, PHONE)
    problems = page.evaluate(SCROLL_HINT_JS, PHONE_SHOWN)
    page.context.close()
    assert problems == [], f"{page_path} at {PHONE} px:\n" + "\n".join(problems)


# -- Weight (issue 16): bytes transferred to show a page -------------------------------


def page_bytes(browser, site, page_path) -> tuple[int, int]:
    """(all bytes transferred, bytes besides the page's own HTML and images) for one
    cold load from the plain local server, math typeset and fonts loaded."""
    context = browser.new_context(viewport={"width": LAPTOP, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    kinds, sizes = {}, {}
    cdp.on(
        "Network.requestWillBeSent",
        lambda e: kinds.update({e["requestId"]: e.get("type", "Other")}),
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.update({e["requestId"]: e["encodedDataLength"]}),
    )
    page.goto(f"{site}/{page_path}.html", wait_until="load")
    page.evaluate(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
        " ? MathJax.startup.promise.then(() => 1) : 1"
    )
    page.wait_for_timeout(500)  # the fonts MathJax asked for
    context.close()
    own = sum(n for r, n in sizes.items() if kinds.get(r) in ("Document", "Image"))
    return sum(sizes.values()), sum(sizes.values()) - own


@pytest.mark.parametrize("page_path", PAGES + ["search"])
def test_pages_weigh_under_the_limit(browser, site, page_path):
    """Theme, scripts, styles and fonts stay under 1.6 MB a page (they were 3.6 MB:
    the full Font Awesome and MathJax bundles), and a whole page under 2.5 MB."""
    loads = [page_bytes(browser, site, page_path) for _ in range(2)]
    total = statistics.median(t for t, _ in loads)
    fixed = statistics.median(f for _, f in loads)
    assert fixed < MAX_FIXED, (
        f"{page_path} pulls in {fixed / 1e6:.2f} MB of theme and scripts"
    )
    assert total < MAX_PAGE, (
        f"{page_path} transfers {total / 1e6:.2f} MB (its HTML and images "
        f"{(total - fixed) / 1e6:.2f} MB): benchmarks/page_weight.py --by-type"
    )


def test_search_page_typesets_the_tex_in_its_results(browser, site):
    """Search results show typeset math, not "\\(q_\\phi(z \\mid x)\\)"."""
    page, errors, _ = open_page(browser, site, "search")
    page.goto(page.url + "?q=encoder", wait_until="load")
    page.wait_for_function(
        "() => /Search finished/.test(document.body.innerText)", timeout=30000
    )
    pattern = r"\\[()\[\]]|\\(?:mid|phi|theta|mathbb|frac)\b"
    page.wait_for_timeout(2000)  # the snippets arrive after "Search finished"
    try:  # and MathJax typesets them after that: wait for it (longer on a busy CPU)
        page.wait_for_function(
            "(p) => !new RegExp(p).test("
            "document.getElementById('search-results').innerText)",
            arg=pattern,
            timeout=15000,
        )
    except PlaywrightTimeout:
        pass  # what is still raw after 15 s is reported below
    text = page.inner_text("#search-results")
    page.context.close()
    raw = re.findall(pattern, text)
    assert raw == [], f"raw TeX in the search results: {raw[:5]}"
    assert errors == [], errors
