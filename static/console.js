// The console's behaviour, with no inline handlers (strict Content-Security-Policy). Everything here is an
// enhancement: without JavaScript every page still works as plain links and forms.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Run fn once per element, however often a subtree is initialised (page load and htmx swaps).
  var done = new WeakMap();
  function each(root, selector, fn) {
    var run = function (el) {
      var seen = done.get(el) || new Set();
      if (seen.has(selector)) return;
      seen.add(selector);
      done.set(el, seen);
      fn(el);
    };
    if (root.matches && root.matches(selector)) run(root);
    root.querySelectorAll(selector).forEach(run);
  }

  function localDate(date) {
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // Exact dates on hover, in the user's own time zone.
  function initTimes(root) {
    each(root, "time[datetime]", function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) el.title = date.toLocaleString(undefined, { dateStyle: "full", timeStyle: "long" });
    });
  }

  // Dialogs arrive from htmx with data-open: open them modally; Esc and Cancel close; focus returns.
  var opener = null;
  document.addEventListener("focusin", function (event) {
    if (!event.target.closest("dialog")) opener = event.target;
  });
  function initDialogs(root) {
    each(root, "dialog[data-open]", function (dialog) {
      dialog.removeAttribute("data-open");
      var returnTo = opener;
      dialog.addEventListener("close", function () {
        dialog.remove();
        if (returnTo && document.contains(returnTo)) returnTo.focus();
      });
      dialog.showModal();
      // A confirmation starts on its safe choice ([autofocus]); a form on its first field.
      var first = dialog.querySelector("[autofocus]") ||
        dialog.querySelector("input:not([type=hidden]):not([disabled]), textarea, select, button.primary, button.danger");
      if (first) first.focus();
    });
  }
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close]");
    if (!closer) return;
    var dialog = closer.closest("dialog");
    if (dialog) {
      event.preventDefault();
      dialog.close();
    }
  });

  // Switches reveal their panels.
  function initSwitches(root) {
    each(root, ".switch-panel[data-switch]", function (panel) {
      var toggle = document.getElementById(panel.dataset.switch);
      if (!toggle) return;
      var sync = function () {
        panel.hidden = !toggle.checked;
        toggle.setAttribute("aria-expanded", toggle.checked ? "true" : "false");
      };
      toggle.addEventListener("change", sync);
      sync();
    });
  }

  // The create form's Type: a user key's switches, or a cross-cluster key's Access editor.
  function initKeyType(root) {
    each(root, "fieldset.key-type", function (fieldset) {
      var form = fieldset.closest("form");
      var sync = function () {
        var chosen = form.querySelector("input[name=type]:checked");
        form.querySelectorAll("[data-key-type]").forEach(function (part) {
          part.hidden = !chosen || part.dataset.keyType !== chosen.value;
        });
      };
      fieldset.addEventListener("change", sync);
      sync();
    });
  }

  // "This API key will expire on <date>", live.
  var UNIT_MS = { days: 86400000, hours: 3600000, minutes: 60000 };
  function initExpiry(root) {
    each(root, "#expiry-preview", function (preview) {
      var form = preview.closest("form");
      var amount = form.querySelector("[name=expire_amount]");
      var unit = form.querySelector("[name=expire_unit]");
      var update = function () {
        var n = parseInt(amount.value, 10);
        preview.textContent = n > 0 ? "This API key will expire on " + localDate(new Date(Date.now() + n * UNIT_MS[unit.value])) : "";
      };
      amount.addEventListener("input", update);
      unit.addEventListener("change", update);
      update();
    });
  }

  // JSON editors: Tab indents, Format pretty-prints, boilerplates replace the text.
  function changed(textarea) {
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function initEditors(root) {
    each(root, "textarea.code:not([readonly])", function (textarea) {
      textarea.addEventListener("keydown", function (event) {
        if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) return;
        event.preventDefault();
        var start = textarea.selectionStart;
        textarea.setRangeText("  ", start, textarea.selectionEnd, "end");
        changed(textarea);
      });
    });
  }
  document.addEventListener("click", function (event) {
    var format = event.target.closest("[data-format]");
    if (format) {
      var textarea = document.getElementById(format.dataset.format);
      try {
        textarea.value = JSON.stringify(JSON.parse(textarea.value), null, 2);
      } catch (e) { /* the live validation already says what is wrong */ }
      changed(textarea);
      return;
    }
    var boilerplate = event.target.closest("[data-boilerplate]");
    if (boilerplate) {
      var target = document.getElementById(boilerplate.dataset.target);
      target.value = boilerplate.dataset.boilerplate;
      changed(target);
    }
  });

  // The created key: format choice and Copy.
  document.addEventListener("change", function (event) {
    if (event.target.name === "key-format" && event.target.dataset.value !== undefined) {
      var field = document.getElementById("created-key");
      if (field) field.value = event.target.dataset.value;
    }
  });
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (!copy) return;
    var field = document.getElementById(copy.dataset.copy);
    var status = copy.closest(".created").querySelector(".copy-status");
    var copied = function () { copy.textContent = "Copied"; if (status) status.textContent = "Copied to the clipboard."; };
    var fallback = function () { field.select(); document.execCommand("copy"); copied(); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(copied, fallback);
    } else {
      fallback();
    }
  });

  // The new key is shown once: focus it, ready to copy, so keyboard and screen reader users land on it.
  function initCreated(root) {
    each(root, "#created-key", function (field) { field.focus(); });
  }

  // A form that comes back with errors puts the cursor on the first field to fix (the old one is gone).
  function initInvalid(root) {
    each(root, "form", function (form) {
      var invalid = form.querySelector("[aria-invalid=true]");
      if (invalid) invalid.focus();
    });
  }

  // Bulk selection: the button says how many keys it will delete.
  function syncBulk(form) {
    var button = form.querySelector("#bulk-delete");
    if (!button) return;
    var all = form.querySelector("#select-all-matching");
    var checked = form.querySelectorAll("input.row-select:checked").length;
    var total = all && all.checked ? parseInt(all.closest("label").textContent.replace(/\D+/g, ""), 10) : checked;
    button.hidden = total === 0;
    button.textContent = total === 1 ? button.dataset.one : button.dataset.template.replace("{n}", total);
  }
  function initBulk(root) {
    each(root, "form#bulk", function (form) {
      form.addEventListener("change", function () { syncBulk(form); });
      syncBulk(form);
    });
  }

  // Keep URLs short and bookmarkable: the filter form's empty fields are left out of its GET requests.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    var keys = params instanceof FormData ? Array.from(params.keys()) : Object.keys(params);
    keys.forEach(function (key) {
      var value = params instanceof FormData ? params.get(key) : params[key];
      if (value === "") {
        if (params instanceof FormData) params.delete(key); else delete params[key];
      }
    });
  });

  // Back and forward load the page from the server (the history cache is off: it could hold a deleted key's
  // row). Pressing back twice quickly starts two loads; only the last may land, or the earlier one, arriving
  // late, would show one state under the other's URL.
  var restoring = null;
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    if (restoring) restoring.abort();
    restoring = event.detail.xhr;
  });

  function init(root) {
    initTimes(root);
    initSwitches(root);
    initKeyType(root);
    initExpiry(root);
    initEditors(root);
    initBulk(root);
    initDialogs(root);
    initCreated(root);
    initInvalid(root);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document.body); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();
