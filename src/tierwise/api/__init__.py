"""REST API (FastAPI) under ``/api/v1``: a thin shell over the application layer.

Every endpoint resolves the caller's :class:`~tierwise.app.access.Principal` (session
cookie with CSRF token, or a bearer token) and calls one application function with it,
so the API obeys the same row-level rule as the pages and exports.
"""
