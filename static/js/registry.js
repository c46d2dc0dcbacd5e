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
