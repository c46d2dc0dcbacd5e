"""The legal act the registry works under, as the printed papers name it (DOMAIN.md; docs/rules.md)."""

from django.utils.translation import gettext_lazy

# The listing itself: printed in the header of the quarterly report and on the prescription form.
LISTING = gettext_lazy(
    "AIFA Determina of 30 September 2021 n. 114586 (GU n. 237, 4 October 2021): anakinra for COVID-19, L.648/96"
)
