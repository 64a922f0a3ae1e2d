"""The environment the test suite runs in, set before Django reads its settings (a pytest
plugin named in pyproject's addopts, loaded before pytest-django imports the settings).

Production defaults stay as they are (tests/test_settings.py checks them in a fresh
process); the suite itself talks plain HTTP on loopback, so it runs with a throwaway
SECRET_KEY and without the HTTPS redirect and Secure-only cookies. Values already in the
environment win.
"""

from __future__ import annotations

import os
import secrets

os.environ.setdefault("SECRET_KEY", "test-only-" + secrets.token_urlsafe(40))
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
