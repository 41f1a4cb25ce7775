"""The built HTML book, opened offline in headless chromium as a reader would see it."""

from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

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
    assert [e for e in errors if "THEBE_JS_URL" not in e] == [], errors
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
        if i == 0:
            scrubber.screenshot(
                path=str(SHOTS / f"{Path(page_path).name}-scrubber.png")
            )
    page.context.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_pages_stay_light(built_book, page_path):
    """Scrubber frames are embedded in the page: about 3 MB of HTML at most."""
    size = (built_book / f"{page_path}.html").stat().st_size
    assert size < 3.2e6, (
        f"{page_path}.html is {size / 1e6:.1f} MB: fewer, smaller frames"
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
