"""The built HTML book, opened offline in headless chromium as a reader would see it."""
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [c["file"] for part in TOC.get("parts", []) for c in part["chapters"]]
CHAPTERS = [p for p in PAGES if (ROOT / p).with_suffix(".ipynb").exists()]
SHOTS = ROOT / "_build" / "screenshots"


def open_page(browser, site, page_path):
    """Load a page with every non-local request blocked; return (page, console errors, blocked urls)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked, errors = [], []

    def route(r):
        if urlparse(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith("data:"):
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
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(page_path).name}.png"), full_page=False)
    assert page.locator("article h1").count() >= 1
    broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                           ".map(i => i.src.slice(0, 80))")
    assert broken == [], f"images that did not load: {broken}"
    assert page.locator(".cell_output .output.traceback, .cell_output .output.error").count() == 0
    assert "Traceback (most recent call last)" not in page.inner_text("article")
    assert [e for e in errors if "THEBE_JS_URL" not in e] == [], errors
    assert blocked == [], f"the page asked the network for {blocked}"
    if page.locator(".math").count():
        assert page.locator("mjx-container").count() > 0, "MathJax did not typeset the math"
    page.context.close()


@pytest.mark.parametrize("page_path", CHAPTERS)
def test_chapter_has_figures_and_a_colab_link_to_its_notebook(browser, site, page_path):
    page, _, _ = open_page(browser, site, page_path)
    assert page.locator(".cell_output img").count() >= 1, "a chapter shows at least one figure"
    repo = urlparse(CONFIG["repository"]["url"]).path.strip("/")
    expected = (f"{CONFIG['launch_buttons']['colab_url']}/github/{repo}/blob/"
                f"{CONFIG['repository']['branch']}/{page_path}.ipynb")
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
            assert scrubber.locator("img").get_attribute("src") != before_src, f"slider {j} did not change the figure"
            assert scrubber.locator(".value").nth(j).inner_text() != before_label
        if i == 0:
            scrubber.screenshot(path=str(SHOTS / f"{Path(page_path).name}-scrubber.png"))
    page.context.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_pages_stay_light(built_book, page_path):
    """Scrubber frames are embedded in the page: keep each page to a few MB."""
    size = (built_book / f"{page_path}.html").stat().st_size
    assert size < 5 * 1024 * 1024, f"{page_path}.html is {size / 2**20:.1f} MB"
