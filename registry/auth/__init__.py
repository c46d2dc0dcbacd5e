"""Signing in: lockout, API tokens, session lifetime, the second factor and the security headers."""
