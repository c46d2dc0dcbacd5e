"""The HTTP API of the prescriptions app: views, URLs, serializers."""
