"""Who configures machines over OPC UA: managers; maintenance reads the health."""

from mes.roles import grant

_MODELS = ("opcserver", "machinelink", "statevalue", "machinetag")
grant("manager", [f"opcua.{a}_{m}" for m in _MODELS for a in ("view", "add", "change")])
grant("manager", ["opcua.view_taghealth", "opcua.view_serverhealth"])
grant(
    "maintenance",
    [*(f"opcua.view_{m}" for m in _MODELS), "opcua.view_taghealth", "opcua.view_serverhealth"],
)
