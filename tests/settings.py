"""The tests' settings: Andon's, as a developer's machine runs them (``DEBUG`` on unless the
environment says otherwise; production defaults to off). Set before the settings are read, so
the processes the e2e tests start inherit it too."""

import os

os.environ.setdefault("DEBUG", "1")

from andon.settings import *  # noqa: E402, F403
