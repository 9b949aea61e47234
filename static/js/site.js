// Progressive enhancement only: every control works without JavaScript.
(function () {
  "use strict";

  // Math in titles and abstracts: $...$, $$...$$, \(...\) and \[...\], rendered by the
  // vendored KaTeX. The text was escaped by Django; KaTeX reads text nodes and never
  // interprets HTML, and trust stays off so \href and friends cannot make links.
  var MATH_OPTIONS = {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "$", right: "$", display: false },
      { left: "\\(", right: "\\)", display: false },
    ],
    throwOnError: false,
    trust: false,
    strict: "ignore",
    // Source text is untrusted: bound how large a formula can draw and how far macros
    // expand, so \rule{1000em}{1000em} or a macro bomb can't cover or stall the page.
    maxSize: 10,
    maxExpand: 100,
  };

  // On a card, display formulas are set inline: a card is a summary.
  var INLINE_OPTIONS = Object.assign({}, MATH_OPTIONS, {
    delimiters: MATH_OPTIONS.delimiters.map(function (d) {
      return { left: d.left, right: d.right, display: false };
    }),
  });

  // Where KaTeX is: base.html loads it only on pages that show math; math that htmx
  // brings in later (related papers under a paper without any) loads it here.
  var SITE_SCRIPT = document.currentScript;
  var MATH_TEXT = /\$|\\\(|\\\[/;
  var katexLoading = null;

  function loadKatex() {
    if (katexLoading) return katexLoading;
    var data = SITE_SCRIPT ? SITE_SCRIPT.dataset : {};
    if (!data.katexJs) return Promise.reject(new Error("KaTeX URLs missing"));
    function load(tag, attributes) {
      return new Promise(function (resolve, reject) {
        var element = document.createElement(tag);
        Object.keys(attributes).forEach(function (name) {
          element[name] = attributes[name];
        });
        element.onload = resolve;
        element.onerror = reject;
        document.head.appendChild(element);
      });
    }
    katexLoading = Promise.all([
      load("link", { rel: "stylesheet", href: data.katexCss }),
      load("script", { src: data.katexJs, async: false }),
      load("script", { src: data.katexAutoRender, async: false }),
    ]);
    return katexLoading;
  }

  function renderMath(root) {
    var nodes = root.querySelectorAll ? [].slice.call(root.querySelectorAll(".math")) : [];
    if (root.classList && root.classList.contains("math")) nodes.unshift(root);
    nodes = nodes.filter(function (node) {
      return MATH_TEXT.test(node.textContent);
    });
    if (!nodes.length) return;
    if (typeof window.renderMathInElement !== "function") {
      loadKatex().then(function () {
        if (typeof window.renderMathInElement === "function") renderMath(root);
      });
      return;
    }
    nodes.forEach(function (node) {
      window.renderMathInElement(node, node.closest(".card") ? INLINE_OPTIONS : MATH_OPTIONS);
    });
  }

  // "Copy" buttons: hidden without JavaScript (the text stays selectable).
  function setUpCopyButtons(root) {
    var buttons = root.querySelectorAll("[data-copy-target]");
    for (var i = 0; i < buttons.length; i++) {
      var button = buttons[i];
      if (!navigator.clipboard) continue;
      button.hidden = false;
      button.addEventListener("click", copyFrom);
    }
  }

  function copyFrom(event) {
    var button = event.currentTarget;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    var label = button.textContent;
    navigator.clipboard.writeText(source.textContent).then(
      function () {
        button.textContent = "Copied";
        setTimeout(function () {
          button.textContent = label;
        }, 2000);
      },
      function () {
        button.textContent = "Select and copy the text";
      }
    );
  }

  // The account menu is a <details>: Escape closes it and gives focus back to its
  // toggle, and a click anywhere else closes it, as with any menu.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = document.querySelector("details.account-menu[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  document.addEventListener("click", function (event) {
    var menu = document.querySelector("details.account-menu[open]");
    if (menu && !menu.contains(event.target)) menu.open = false;
  });

  document.addEventListener("DOMContentLoaded", function () {
    renderMath(document.body);
    setUpCopyButtons(document);
  });

  // htmx swaps only 2xx answers. A fragment that also carries refusals (403 unverified,
  // 429 too fast, ...) lists those statuses in data-swap-statuses, and the refusal's
  // message is swapped in like a success. One delegated listener instead of hx-on
  // attributes, which htmx would have to eval (the Content-Security-Policy forbids it).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var holder = event.target.closest && event.target.closest("[data-swap-statuses]");
    if (!holder) return;
    var statuses = holder.getAttribute("data-swap-statuses").split(/\s+/);
    if (statuses.indexOf(String(event.detail.xhr.status)) !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Fragments swapped in by htmx get the same treatment, out-of-band ones too (a new
  // comment placed in the list or under its parent: the list or the parent is the
  // swap's target; formulas already drawn have no delimiters left to draw again).
  document.addEventListener("htmx:afterSwap", function (event) {
    renderMath(event.target);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    renderMath((event.detail && event.detail.target) || event.target);
  });
})();
