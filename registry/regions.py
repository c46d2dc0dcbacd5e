"""The 21 regions and autonomous provinces with their Ministry of Health codes (DOMAIN.md)."""

REGIONS = [
    ("010", "Piemonte"),
    ("020", "Valle d'Aosta"),
    ("030", "Lombardia"),
    ("041", "P.A. Bolzano"),
    ("042", "P.A. Trento"),
    ("050", "Veneto"),
    ("060", "Friuli Venezia Giulia"),
    ("070", "Liguria"),
    ("080", "Emilia-Romagna"),
    ("090", "Toscana"),
    ("100", "Umbria"),
    ("110", "Marche"),
    ("120", "Lazio"),
    ("130", "Abruzzo"),
    ("140", "Molise"),
    ("150", "Campania"),
    ("160", "Puglia"),
    ("170", "Basilicata"),
    ("180", "Calabria"),
    ("190", "Sicilia"),
    ("200", "Sardegna"),
]


def ensure_regions(**kwargs):
    """post_migrate: the regions exist after every migrate and every test flush (idempotent)."""
    from .models import Region

    existing = set(Region.objects.values_list("code", flat=True))
    Region.objects.bulk_create([Region(code=code, name=name) for code, name in REGIONS if code not in existing])
