"""What each role may do with exception tickets and their configuration."""

from mes.roles import ROLES, grant

_VIEW = [
    f"exceptions.view_{m}"
    for m in ("exceptiontype", "exceptionticket", "decision", "attachment", "exceptionevent")
]
_WORK = [*_VIEW, "exceptions.add_exceptionticket", "exceptions.change_exceptionticket"]
_CONFIG = [
    f"exceptions.{action}_{m}"
    for m in (
        "exceptiontype",
        "workflow",
        "workflowstate",
        "workflowtransition",
        "routingrule",
        "slapolicy",
        "escalationpolicy",
        "escalationlevel",
    )
    for action in ("add", "change", "view")
]

for role in ROLES:
    if role == "manager":
        grant(role, [*_WORK, *_CONFIG])
    elif role == "auditor":
        grant(role, [*_VIEW, *[p for p in _CONFIG if ".view_" in p]])
    else:
        grant(role, _WORK)
