"""pytest plugin (entry point ``pytest11``): the ``app_tester`` fixture.

``app_tester(app_or_path)`` returns an :class:`~stgo.testing.AppTester`; every
tester made in a test is closed after it.
"""

from __future__ import annotations

import pytest

from .testing import app_tester as _app_tester

app_tester = pytest.fixture(_app_tester)
