// Behaviour of every page, kept out of the HTML so the Content-Security-Policy can forbid inline script.
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-submit-on-change]")) {
    event.target.form.submit();
  }
});

// "Print" buttons (the backup codes): the browser's print dialog; the print style sheet keeps only the page's content.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

// A form is sent once. On a slow connection a second tap (or Enter) on a form already sent would send it again and
// store the record twice: every POST form, once sent, ignores its further submits until the page is left. The first
// submit is never stopped and its button never disabled, so the button's name and value still reach the server; the
// button only says it is working (aria-busy, greyed). A form that may be sent again says so with data-resubmit; GET
// forms (the filters) are left alone.
(function () {
  function guarded(form) {
    return (
      form instanceof HTMLFormElement &&
      form.method === "post" &&
      !form.hasAttribute("data-resubmit") &&
      (!form.target || form.target === "_self")
    );
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!guarded(form)) {
      return;
    }
    if (form.hasAttribute("data-sent")) {
      event.preventDefault();
      return;
    }
    if (event.defaultPrevented) {
      return; // stopped by someone else: not sent
    }
    form.setAttribute("data-sent", "");
    form.setAttribute("aria-busy", "true");
    var button = event.submitter || form.querySelector("button[type=submit], input[type=submit]");
    if (button) {
      button.setAttribute("aria-busy", "true");
      button.setAttribute("aria-disabled", "true");
    }
  });

  // Back to a page the browser kept (the back-forward cache): its forms answer again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.removeAttribute("aria-busy");
      form.querySelectorAll("[aria-busy]").forEach(function (button) {
        button.removeAttribute("aria-busy");
        button.removeAttribute("aria-disabled");
      });
    });
  });
})();

// A form sent back with errors: on a phone the page reloads at its top and the messages can be 2 000 px down. The
// first error (the form's own message, or the first field in error) is brought into view and focused; every field in
// error says so to assistive technologies (aria-invalid) and is described by its message.
(function () {
  var CONTROLS = "input:not([type=hidden]), select, textarea";
  var counter = 0;

  function describe(control, messages) {
    var ids = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && document.getElementById(id);
    });
    messages.forEach(function (message) {
      var described = ids.some(function (id) {
        return document.getElementById(id).contains(message);
      });
      if (described) {
        return; // already referenced, as Django does (<id>_error, <id>_helptext)
      }
      if (!message.id) {
        counter += 1;
        message.id = "field-error-" + counter;
      }
      if (ids.indexOf(message.id) < 0) {
        ids.push(message.id);
      }
    });
    if (ids.length) {
      control.setAttribute("aria-describedby", ids.join(" "));
    }
  }

  document.querySelectorAll("form .field.invalid").forEach(function (field) {
    var messages = Array.prototype.slice.call(field.querySelectorAll(".error"));
    var row = field.closest("tr");
    if (!messages.length && row && row.nextElementSibling && row.nextElementSibling.matches("tr.row-errors")) {
      messages = Array.prototype.slice.call(row.nextElementSibling.querySelectorAll(".error"));
    }
    field.querySelectorAll(CONTROLS).forEach(function (control) {
      control.setAttribute("aria-invalid", "true");
      describe(control, messages);
    });
  });

  var first = document.querySelector("main form .form-errors, main form .field.invalid, main form [data-field-error]");
  if (!first) {
    return;
  }
  var folded = first.closest("details:not([open])");
  if (folded) {
    folded.open = true;
  }
  var target = first.matches(".field.invalid") ? first.querySelector(CONTROLS) : null;
  if (!target) {
    target = first;
    if (!target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
  }
  var shown = first.matches(".field.invalid") ? first.closest("tr") || first : first;
  var tall = shown.getBoundingClientRect().height > window.innerHeight * 0.8;
  shown.scrollIntoView({ block: tall ? "start" : "center" });
  target.focus({ preventScroll: true });
})();

// The new prescription on a narrow screen: the eligibility panel comes after the whole form, so a bar at the bottom
// of the screen repeats its headline (eligible, not eligible, incomplete) while the fields are filled in, with a link
// to the full panel. It rests above the submit button at the end of the form, never over it.
(function () {
  var panel = document.getElementById("verdict");
  var bar = document.querySelector("[data-verdict-summary]");
  if (!panel || !bar) {
    return;
  }
  var headline = bar.querySelector("[data-verdict-headline]");

  function copy() {
    var head = panel.querySelector(".verdict-head");
    headline.textContent = "";
    if (!head) {
      return;
    }
    var title = head.querySelector("h2");
    var strong = document.createElement("strong");
    strong.textContent = title ? title.textContent.trim() : "";
    headline.appendChild(strong);
    head.querySelectorAll(".badge").forEach(function (badge) {
      var copyOf = document.createElement("span");
      copyOf.className = badge.className;
      copyOf.textContent = badge.textContent.trim();
      headline.appendChild(document.createTextNode(" "));
      headline.appendChild(copyOf);
    });
    // A value already wrong (a mistyped fiscal code, a number out of range) is said in the bar too, not only at
    // the page's end: "⚠ 1 da correggere".
    var wrong = panel.querySelectorAll("[data-field-error], ul.invalid-values li").length;
    if (wrong) {
      var flag = document.createElement("span");
      flag.className = "badge fail";
      flag.setAttribute("data-verdict-errors", "");
      flag.textContent = "⚠ " + wrong + " " + (bar.getAttribute("data-errors-label") || "");
      headline.appendChild(document.createTextNode(" "));
      headline.appendChild(flag);
    }
    bar.hidden = false;
  }

  copy();
  new MutationObserver(copy).observe(panel, { childList: true, subtree: true, characterData: true });
})();
