"""Who brings the plant's spreadsheets in: managers (of their sites); auditors read them."""

from mes.roles import grant

_MODELS = ("importjob", "machinealias", "legacydowntime", "legacyexception")
grant("manager", ["legacy.add_importjob", "legacy.change_importjob", "legacy.add_machinealias"])
grant("manager", [f"legacy.view_{m}" for m in _MODELS])
grant("auditor", [f"legacy.view_{m}" for m in _MODELS])
