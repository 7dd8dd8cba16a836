from .holds import DispositionReason, HeldLot, HoldDecision, QualityHold, SiteQualityPolicy
from .nonconformance import NcAction, NonConformance

__all__ = [
    "DispositionReason",
    "HeldLot",
    "HoldDecision",
    "NcAction",
    "NonConformance",
    "QualityHold",
    "SiteQualityPolicy",
]
