/* The book's page behaviour, loaded on every page (Jupyter Book adds each .js in _static)
   and working on the static HTML with no kernel. Issue 16:
   1. tables: numeric columns are found from their cells and right-aligned with their
      headers (CSS alone cannot tell which columns hold numbers), for plain DataFrame
      and Styler HTML alike; vaebook.css gives the one table look;
   2. boxes that scroll sideways (display equations, wide tables, wide figures on a
      phone) fade at the edge where more is hidden, so a reader sees they scroll;
   3. the search page typesets the TeX in its result titles and snippets. */
(() => {
  "use strict";

  // -- 1. numeric table columns ------------------------------------------------------
  const NUMBER = /^[+\-\u2212]?(\d{1,3}(,\d{3})+|\d*)(\.\d+)?(e[+\-\u2212]?\d+)?%?$/i;
  const WITH_ERROR = /^(.+?)\s*\u00b1\s*(.+)$/; // "128.6 ± 0.4"
  const MISSING = new Set(["", "nan", "NaN", "<NA>", "None", "\u2014", "\u2013", "-",
                           "inf", "-inf", "\u2212inf"]);

  function isNumber(text) {
    const t = text.trim();
    const pm = WITH_ERROR.exec(t);
    if (pm) return isNumber(pm[1]) && isNumber(pm[2]);
    return /\d/.test(t) && NUMBER.test(t);
  }

  /* The table as a grid: grid[r][c] is the cell covering row r, column c (rowspan and
     colspan expanded), rows of thead first. */
  function tableGrid(table) {
    const rows = Array.from(table.rows), grid = rows.map(() => []);
    rows.forEach((row, r) => {
      let c = 0;
      for (const cell of row.cells) {
        while (grid[r][c]) c++;
        for (let dr = 0; dr < cell.rowSpan && r + dr < rows.length; dr++) {
          for (let dc = 0; dc < cell.colSpan; dc++) grid[r + dr][c + dc] = cell;
        }
        c += cell.colSpan;
      }
    });
    return grid;
  }

  function alignTable(table) {
    const grid = tableGrid(table), head = table.tHead ? table.tHead.rows.length : 0;
    const width = Math.max(0, ...grid.map(r => r.length));
    const numeric = [];
    for (let c = 0; c < width; c++) {
      const body = grid.slice(head).map(r => r[c]).filter(x => x && x.tagName === "TD");
      const texts = body.map(x => x.textContent.trim());
      const values = texts.filter(t => !MISSING.has(t));
      numeric[c] = values.length > 0 && values.every(isNumber);
      if (numeric[c]) body.forEach(x => x.classList.add("vb-num"));
    }
    // a header is numeric when every column under it is; index names stay left
    for (let r = 0; r < head; r++) {
      const seen = new Set();
      grid[r].forEach((cell, c) => {
        if (!cell || seen.has(cell)) return;
        seen.add(cell);
        const cols = [];
        grid[r].forEach((x, k) => { if (x === cell) cols.push(k); });
        if (cols.every(k => numeric[k])) {
          cell.classList.add(cols.length > 1 ? "vb-num-group" : "vb-num");
        }
      });
    }
    table.classList.add("vb-table");
  }

  // -- 2. sideways scrolling, made visible -------------------------------------------
  function hint(box) {
    const update = () => {
      const hidden = box.scrollWidth - box.clientWidth;
      box.classList.toggle("vb-scrolls", hidden > 1);
      box.classList.toggle("vb-more-left", hidden > 1 && box.scrollLeft > 1);
      box.classList.toggle("vb-more-right", hidden > 1 && box.scrollLeft < hidden - 1);
    };
    if (!box.dataset.vbHint) {
      box.dataset.vbHint = "1";
      box.addEventListener("scroll", update, {passive: true});
    }
    update();
  }

  /* Figures keep a readable scale on a narrow screen and scroll sideways inside their
     box (shown at >= READABLE of their natural width; a laptop column shows them whole,
     tests/book/test_rendered.py checks both). */
  const READABLE = 0.7;

  function sizeFigure(img) {
    const box = img.closest(".vb-figure-box, .vaebook-frame");
    if (!box || !img.naturalWidth) return;
    const natural = img.naturalWidth, keep = Math.round(natural * READABLE);
    // the column the box can take (a scrubber frame is no wider than its frames)
    const column = box.parentElement.clientWidth;
    const enlarge = column < keep;
    img.style.width = enlarge ? keep + "px" : "";
    img.style.maxWidth = enlarge ? "none" : "";
    if (box.classList.contains("vaebook-frame")) {
      box.classList.add("vb-figure-frame");
      box.style.aspectRatio = enlarge ? "auto" : box.dataset.vbAspect || "";
    }
    hint(box);
  }

  function figures() {
    document.querySelectorAll("article div.cell_output img").forEach(img => {
      const frame = img.closest(".vaebook-frame");
      if (frame) {  // a static scrubber: its frame is the box; keep its aspect ratio
        if (!frame.dataset.vbAspect) frame.dataset.vbAspect = frame.style.aspectRatio;
        img.addEventListener("load", () => sizeFigure(img));
      } else if (!img.parentElement.classList.contains("vb-figure-box")) {
        const box = document.createElement("div");
        box.className = "vb-figure-box";
        img.replaceWith(box);
        box.appendChild(img);
      }
      if (img.complete) sizeFigure(img);
      else img.addEventListener("load", () => sizeFigure(img), {once: true});
    });
  }

  function scrollBoxes() {
    document.querySelectorAll(
      "article mjx-container[display='true'], article .vb-table-box, .vb-figure-box"
    ).forEach(hint);
    document.querySelectorAll(".vb-figure-box img, .vaebook-frame img")
      .forEach(sizeFigure);
  }

  function tables() {
    document.querySelectorAll("article div.cell_output table").forEach(table => {
      alignTable(table);
      const parent = table.parentElement;
      if (!parent.classList.contains("vb-table-box")) {
        const box = document.createElement("div");
        box.className = "vb-table-box";
        table.replaceWith(box);
        box.appendChild(table);
      }
    });
  }

  // -- 3. TeX in search results ------------------------------------------------------
  /* A snippet is cut from the page's text, so it may start or end inside \( ... \):
     drop such halves, then let MathJax typeset the rest. Only plain-text snippets are
     rewritten (a highlighted word inside math stays as the theme marked it). */
  function tidySnippet(el) {
    if (el.querySelector("mjx-container")) return; // typeset already
    // display math reads inline in a snippet: \[ ... \] becomes \( ... \)
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      n.data = n.data.replace(/\\\[/g, "\\(").replace(/\\\]/g, "\\)");
    }
    let t = el.textContent;
    const open = t.lastIndexOf("\\("), close = t.lastIndexOf("\\)");
    if (open > close) t = t.slice(0, open) + "\u2026";
    const firstClose = t.indexOf("\\)"), firstOpen = t.indexOf("\\(");
    if (firstClose >= 0 && (firstOpen < 0 || firstClose < firstOpen)) {
      t = "\u2026" + t.slice(firstClose + 2);
    }
    if (t !== el.textContent) el.textContent = t; // (its highlights go with it)
  }

  function searchMath() {
    const results = document.getElementById("search-results");
    if (!results) return;
    results.classList.add("tex2jax_process"); // MathJax skips what the theme marks
    let pending = null;
    const typeset = () => {
      pending = null;
      results.querySelectorAll("p.context").forEach(tidySnippet);
      if (window.MathJax && MathJax.typesetPromise) {
        MathJax.startup.promise.then(() => MathJax.typesetPromise([results]));
      }
    };
    new MutationObserver(() => {
      if (!pending) pending = setTimeout(typeset, 100);
    }).observe(results, {childList: true, subtree: true});
  }

  function start() {
    tables();
    figures();
    scrollBoxes();
    searchMath();
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(scrollBoxes);
    }
    let resize = null;
    window.addEventListener("resize", () => {
      clearTimeout(resize);
      resize = setTimeout(scrollBoxes, 100);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.vaebookPage = {isNumber, tableGrid, scrollBoxes};
})();
