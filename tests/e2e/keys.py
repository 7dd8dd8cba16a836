"""Names shared by the e2e tests and the probe subscriber that runs inside the worker."""

PROBE_KEY = "andon:e2e:probe"
