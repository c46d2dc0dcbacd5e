// Behaviour of every page, kept out of the HTML so the Content-Security-Policy can forbid inline script.
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-submit-on-change]")) {
    event.target.form.submit();
  }
});
