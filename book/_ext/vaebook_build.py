"""Sphinx extension loaded by _config.yml: build settings that YAML can't say.

- Marks the notebook kernels as a static build: the kernels that execute the chapters
  inherit this process's environment, so ``vaebook.widgets.explore`` emits precomputed
  scrubbers (sliders that work in the HTML with no kernel) and progress bars stay
  silent, whoever runs the build.
- Check cells (tagged ``check`` by ``tools/nbtool.py tag-checks``, with ``hide-input``)
  fold under "Show the checks (N asserts)" instead of "Show code cell source".
- Lighter pages (issue 16, section 4): MathJax loads only the pieces the book uses
  (TeX input, CommonHTML output, the assistive MathML; not the 420 KB menu), and the
  theme's 1.5 MB Font Awesome bundle is replaced by the few icons the pages use.
- Each inline script is written once (a Sphinx 7.4 bug wrote sphinx-thebe's twice: the
  console error "Identifier 'THEBE_JS_URL' has already been declared" on every page),
  and pages leave out the Thebe and sphinx-design assets they don't use.
- The search page loads MathJax too, so ``_static/vaebook.js`` can typeset the TeX in
  the titles and snippets of its results.
- Scrubber frames load on demand: each static scrubber's frames (base64 PNGs in the
  notebook's output) become image files in ``_images/``, named by content hash, and the
  page keeps only their URLs (a page weighed up to 3 MB of inline frames).
"""

import ast
import base64
import hashlib
import json
import os
import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX_PATH = "mathjax/startup.js"  # the loader + startup; components load from it
MATHJAX_LOAD = ["input/tex", "output/chtml", "a11y/assistive-mml"]


class CheckPrompt(SphinxPostTransform):
    """Name the toggle of check cells (before myst-nb's HideInputCells, at 199)."""

    default_priority = 150
    formats = ("html",)

    def run(self, **kwargs):
        for node in self.document.findall(nodes.container):
            if "tag_check" not in node.get("classes", []) or not node.get("hide_mode"):
                continue
            source = node.children[0].astext() if node.children else ""
            try:
                asserts = sum(
                    isinstance(n, ast.Assert) for n in ast.walk(ast.parse(source))
                )
            except SyntaxError:
                asserts = 0
            count = f" ({asserts} asserts)" if asserts > 1 else ""
            node["prompt_show"] = f"Show the checks{count}"
            node["prompt_hide"] = "Hide the checks"


def light_mathjax(app):
    """Load MathJax from its components (after myst-parser has set its options)."""
    if "mathjax" not in app.config.extensions and not hasattr(
        app.config, "mathjax_path"
    ):
        return
    app.config.mathjax_path = MATHJAX_PATH
    config = dict(app.config.mathjax3_config or {})
    loader = dict(config.get("loader", {}))
    loader["load"] = sorted(set(loader.get("load", [])) | set(MATHJAX_LOAD))
    config["loader"] = loader
    config.setdefault("options", {})
    app.config.mathjax3_config = config


def _uses_sphinx_design(doctree) -> bool:
    return doctree is not None and any(
        any(c.startswith("sd-") for c in node.get("classes", []))
        for node in doctree.findall(nodes.Element)
    )


def trim_page_assets(app, pagename, templatename, context, doctree):
    """One copy of each script, and none a page does not use.

    Sphinx 7.4 writes an inline script added after the builder started
    (sphinx-thebe's ``const THEBE_JS_URL = ...``, sphinx-togglebutton's selector)
    twice: once as added (file name None), once from the registry (file name ''), so
    every page logged "Identifier 'THEBE_JS_URL' has already been declared". Keep the
    first copy. The book has no Thebe button (launch_buttons.thebe is off): its
    scripts go; sphinx-design's style sheet and tab script go from pages without its
    directives. (Runs early: Sphinx stops calling html-page-context handlers once one
    returns a value.)
    """
    launch = app.config.html_theme_options.get("launch_buttons", {})
    unused = set() if launch.get("thebe") else {"sphinx-thebe.js", "sphinx-thebe.css"}
    if not _uses_sphinx_design(doctree):
        unused |= {"sphinx-design.min.css", "design-tabs.js"}

    def used(asset) -> bool:
        name = os.path.basename(str(asset.filename or ""))
        if name in unused:
            return False
        body = asset.attributes.get("body", "")
        return not ("sphinx-thebe.js" in unused and "THEBE_JS_URL" in body)

    for key in ("script_files", "css_files"):
        assets, seen, keep = context.get(key), set(), []
        if not assets:
            continue
        for asset in assets:
            attrs = tuple(sorted(asset.attributes.items()))
            name = (str(asset.filename or ""), asset.priority, attrs)
            if name not in seen and used(asset):
                seen.add(name)
                keep.append(asset)
        assets[:] = keep


def mathjax_on_search_page(app, pagename, templatename, context, doctree):
    """Pages with no math of their own still show some: the search page in its
    results, every page in the sidebar (the title of computing_q). Sphinx loads MathJax
    only where the page's body has math; this adds it to the others."""
    if pagename != "search" and app.env.get_domain("math").has_equations(pagename):
        return
    config = app.config.mathjax3_config
    if config:
        body = "window.MathJax = " + json.dumps(config)
        app.add_js_file(None, body=body, priority=500)
    app.add_js_file(app.config.mathjax_path, priority=500, defer="defer")


# -- Font Awesome: only the icons the pages use ---------------------------------------

PACKS = {"fas": "fas", "fa-solid": "fas", "far": "far", "fa-regular": "far"}
PACKS |= {"fab": "fab", "fa-brands": "fab"}
FA_NOT_ICONS = {"fw", "lg", "xs", "sm", "xl", "2xl", "spin", "pulse", "inverse"}
ICON_RUNTIME = """/* Font Awesome subset written by book/_ext/vaebook_build.py:
   the %d icons the pages use, drawn as inline SVG as the full bundle (1.5 MB) does. */
(() => {
const ICONS = %s;
const PACKS = %s;
const NS = "http://www.w3.org/2000/svg";
function draw(el) {
  if (!(el instanceof HTMLElement) || el.dataset.faDrawn) return;
  let pack = "fas", name = null;
  for (const c of el.classList) {
    if (PACKS[c]) pack = PACKS[c];
    else if (c.startsWith("fa-") && ICONS[pack + " " + c.slice(3)] !== undefined) {
      name = c.slice(3);
    }
  }
  for (const c of el.classList) {  // the name may come before the pack class
    if (!name && c.startsWith("fa-") && ICONS[pack + " " + c.slice(3)]) {
      name = c.slice(3);
    }
  }
  const icon = name && ICONS[pack + " " + name];
  if (!icon) return;
  const svg = document.createElementNS(NS, "svg");
  for (const a of el.attributes) svg.setAttribute(a.name, a.value);  // data-mode...
  svg.setAttribute("class", el.className + " svg-inline--fa");
  svg.setAttribute("viewBox", "0 0 " + icon[0] + " " + icon[1]);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("data-prefix", pack);
  svg.setAttribute("data-icon", name);
  const path = document.createElementNS(NS, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", icon[2]);
  svg.appendChild(path);
  el.dataset.faDrawn = "1";
  el.replaceWith(svg);
}
const SELECTOR = "i[class*='fa-'], span[class*='fa-']";
function drawAll(root) { root.querySelectorAll(SELECTOR).forEach(draw); }
function start() {
  drawAll(document);
  new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
    if (n.nodeType !== 1) return;
    if (n.matches(SELECTOR)) draw(n);
    drawAll(n);
  }))).observe(document.body, {childList: true, subtree: true});
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
})();
"""


def _used_icons(outdir: Path, bundle: Path) -> set[tuple[str, str]]:
    """(pack, name) for each Font Awesome class in the HTML pages and theme scripts."""
    used = set()
    files = list(outdir.rglob("*.html")) + [
        f for f in (outdir / "_static").rglob("*.js") if f != bundle
    ]
    for f in files:
        text = f.read_text(errors="ignore")
        for classes in re.findall(r"""["']((?:[\w-]+ )*fa-[\w -]+)["']""", text):
            words = classes.split()
            pack = next((PACKS[w] for w in words if w in PACKS), "fas")
            for w in words:
                if w.startswith("fa-") and w not in PACKS and w[3:] not in FA_NOT_ICONS:
                    used.add((pack, w[3:]))
    return used


def _icon_definitions(bundle_text: str, wanted: set[tuple[str, str]]) -> dict:
    """Find each icon's [width, height, path] in the theme's bundle, by pack."""
    registers = [
        (m.start(), PACKS[m.group(1)])
        for m in re.finditer(r'\bd\("(fas|far|fab)",', bundle_text)
    ]
    entry = re.compile(
        r'(?:"([\w-]+)"|\b([\w$]+)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]+","([^"]+)"\]'
    )
    found = {}
    for m in entry.finditer(bundle_text):
        pack = next((p for pos, p in registers if pos > m.start()), None)
        names = [m.group(1) or m.group(2)] + re.findall(r'"([\w-]+)"', m.group(5))
        for name in names:
            if (pack, name) in wanted and (pack, name) not in found:
                found[f"{pack} {name}"] = [int(m.group(3)), int(m.group(4)), m.group(6)]
    return found


def fontawesome_subset(app, exception):
    if exception or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    bundle = outdir / "_static" / "scripts" / "fontawesome.js"
    if not bundle.exists():
        return
    import pydata_sphinx_theme  # the theme's own copy: the one in outdir may be ours

    theme = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    text = (theme / "static" / "scripts" / "fontawesome.js").read_text()
    wanted = _used_icons(outdir, bundle)
    icons = _icon_definitions(text, wanted)
    missing = sorted(f"{p} {n}" for p, n in wanted if f"{p} {n}" not in icons)
    if missing:
        logger.info(f"[vaebook] Font Awesome classes with no icon: {missing}")
    bundle.write_text(
        ICON_RUNTIME % (len(icons), json.dumps(icons, indent=0), json.dumps(PACKS))
    )
    logger.info(
        f"[vaebook] Font Awesome: {len(icons)} icons, {bundle.stat().st_size} B"
    )


FA_GLYPH_RULE = re.compile(r"(?:\.fa-[\w-]+:{1,2}(?:before|after),?)+\{content:[^}]*\}")


def strip_icon_font_rules(app, exception):
    """The theme's style sheet maps ~1,900 icon names to glyphs of the icon font (86 KB
    of ``.fa-x:before{content:...}``); the subset draws the icons as SVG instead."""
    if exception or app.builder.format != "html":
        return
    css = Path(app.outdir) / "_static" / "styles" / "pydata-sphinx-theme.css"
    if css.exists():
        text = css.read_text()
        css.write_text(FA_GLYPH_RULE.sub("", text))


# -- Scrubber frames as files ---------------------------------------------------------

# vaebook.widgets._scrubber_script writes ``var frames=[...];`` (JSON base64 strings);
# the start frame is the <img>'s data: URI
SCRUBBER_FRAMES = re.compile(r'var frames=(\[\s*(?:"[A-Za-z0-9+/=]+"\s*,?\s*)*\]);')
INLINE_FRAME = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
FRAME_DIR = "_images"


def extract_frames(body: str, outdir: Path, url_of) -> tuple[str, int]:
    """Write each scrubber frame in ``body`` to ``outdir/_images/scrubber-<hash>.png``
    (once per content) and point the scrubber at it: the script's frames array holds
    the files' URLs (``url_of("_images/name")``, relative to the page) and the <img>
    starts on its frame's file. Returns the new body and the number of frame files."""
    urls: dict[str, str] = {}

    def url(b64: str) -> str:
        if b64 not in urls:
            png = base64.b64decode(b64)
            name = f"scrubber-{hashlib.sha256(png).hexdigest()[:20]}.png"
            path = outdir / FRAME_DIR / name
            if not path.exists():  # parallel writers: write aside, then rename
                path.parent.mkdir(parents=True, exist_ok=True)
                part = path.with_suffix(f".{os.getpid()}.part")
                part.write_bytes(png)
                part.replace(path)
            urls[b64] = url_of(f"{FRAME_DIR}/{name}")
        return urls[b64]

    def frames(match) -> str:
        return f"var frames={json.dumps([url(f) for f in json.loads(match[1])])};"

    body = SCRUBBER_FRAMES.sub(frames, body)
    body = INLINE_FRAME.sub(
        lambda m: f'src="{urls[m[1]]}"' if m[1] in urls else m[0], body
    )
    return body, len(set(urls.values()))


def scrubber_frames_as_files(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if app.builder.format != "html" or not body or "var frames=" not in body:
        return
    pathto = context["pathto"]
    context["body"], count = extract_frames(
        body, Path(app.outdir), lambda name: pathto(name, 1)
    )
    if count:
        logger.info(f"[vaebook] {pagename}: {count} scrubber frames as files")


def setup(app):
    os.environ["VAEBOOK_STATIC"] = "1"
    os.environ.setdefault("TQDM_DISABLE", "1")
    app.add_post_transform(CheckPrompt)
    app.connect("builder-inited", light_mathjax, priority=900)
    app.connect("html-page-context", mathjax_on_search_page)
    app.connect("html-page-context", trim_page_assets, priority=100)
    app.connect("html-page-context", scrubber_frames_as_files)
    app.connect("build-finished", fontawesome_subset)
    app.connect("build-finished", strip_icon_font_rules)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
