// Reports pages: while a run is queued or running, fetch its status block (or the runs table) every few seconds
// and put it in place; once the run has finished, reload the page to show its figures and files.
// Loaded from a file, never inline, so that the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";

  function poll(element) {
    var url = element.getAttribute("data-poll-url");
    var seconds = parseInt(element.getAttribute("data-poll-seconds") || "2", 10);
    if (!url) {
      return;
    }
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (response.headers.get("X-Run-Finished") === "true") {
            window.location.reload();
            return null;
          }
          return response.ok ? response.text() : Promise.reject(response.status);
        })
        .then(function (html) {
          if (html === null) {
            return;
          }
          var holder = document.createElement("template");
          holder.innerHTML = html.trim();
          var fresh = holder.content.firstElementChild;
          if (fresh) {
            element.replaceWith(fresh);
            poll(fresh);
          }
        })
        .catch(function () {
          poll(element); // a failed poll (network, restart): try again later
        });
    }, seconds * 1000);
  }

  document.querySelectorAll("[data-poll-url]").forEach(poll);
})();
