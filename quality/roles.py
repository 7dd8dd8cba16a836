"""What each role may do in quality. Only quality releases and dispositions held material."""

from mes.roles import ROLES, grant

_VIEW = [
    f"quality.view_{m}"
    for m in (
        "qualityhold",
        "heldlot",
        "holddecision",
        "nonconformance",
        "ncaction",
        "dispositionreason",
        "sitequalitypolicy",
        "inspectionplan",
        "characteristic",
        "inspectionresult",
        "defectcode",
    )
]
for _role in ROLES:
    if _role != "erp_integration":
        grant(_role, _VIEW)
grant(
    "quality",
    [
        "quality.add_qualityhold",
        "quality.change_qualityhold",
        "quality.release_qualityhold",
        "quality.add_nonconformance",
        "quality.change_nonconformance",
        "quality.add_inspectionresult",
    ],
)
grant("operator", ["quality.add_inspectionresult"])
# Who sees a problem on the floor may stop the material; releasing it is quality's.
grant(
    "supervisor",
    ["quality.add_qualityhold", "quality.add_nonconformance", "quality.add_inspectionresult"],
)
grant(
    "manager",
    [
        "quality.add_dispositionreason",
        "quality.change_dispositionreason",
        "quality.change_sitequalitypolicy",
        "quality.add_sitequalitypolicy",
        *[
            f"quality.{a}_{m}"
            for m in ("inspectionplan", "characteristic", "defectcode")
            for a in ("add", "change")
        ],
    ],
)
