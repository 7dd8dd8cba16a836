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

# Triage: lower the severity, move to another role's queue, assign to someone else.
_TRIAGE = ["exceptions.triage_exceptionticket"]
_TRIAGING = ("supervisor", "planner", "procurement", "quality", "maintenance")

for role in ROLES:
    if role == "manager":
        grant(role, [*_WORK, *_TRIAGE, *_CONFIG])
    elif role == "auditor":
        grant(role, [*_VIEW, *[p for p in _CONFIG if ".view_" in p]])
    elif role == "customer_service":
        grant(role, _VIEW)  # reads, as documented; never changes a ticket
    elif role == "erp_integration":
        # The ERP's batches raise order_change tickets; the account works no ticket.
        grant(role, [*_VIEW, "exceptions.add_exceptionticket"])
    else:
        grant(role, [*_WORK, *(_TRIAGE if role in _TRIAGING else ())])
