"""The pages: views, forms, URLs and the printable forms of the prescriptions app."""
