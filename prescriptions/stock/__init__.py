"""Anakinra stock held by the hospital pharmacies: lots, movements, transfers, days of cover and spending.

A pharmacy opts in (``PharmacyStockSetting.keeps_stock``); one that does not keeps dispensing as before, with a
lot number typed at the counter. ``models`` holds the rows (imported by ``prescriptions.models`` so Django sees
them), ``services`` the writes, ``selectors`` the scoped reads, ``cover`` and ``spending`` the pure arithmetic.
"""
