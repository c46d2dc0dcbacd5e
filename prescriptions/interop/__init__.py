"""Interoperability: what leaves the registry in a standard format (FHIR R4)."""
