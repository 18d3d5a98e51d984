"""Code only the tests run: job mutations, local HTTP servers, /proc and database helpers.

The lab itself (``tools.livelab``, ``tools.example``, ``tools.front``) is the
demo's, and lives in ``tools``; the tests import it from there.
"""
