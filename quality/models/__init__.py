from .holds import DispositionReason, HeldLot, HoldDecision, QualityHold, SiteQualityPolicy
from .inspections import Characteristic, DefectCode, InspectionPlan, InspectionResult
from .nonconformance import NcAction, NonConformance

__all__ = [
    "Characteristic",
    "DefectCode",
    "InspectionPlan",
    "InspectionResult",
    "DispositionReason",
    "HeldLot",
    "HoldDecision",
    "NcAction",
    "NonConformance",
    "QualityHold",
    "SiteQualityPolicy",
]
