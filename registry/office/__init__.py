"""The regional office's pages: centres and designations, pharmacies, prescriber authorisations and staff of the
officer's region, without the Django admin (issue 18). Thin: a form, one service or selector, a template."""
