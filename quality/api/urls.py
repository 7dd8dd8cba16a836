"""Quality's API routes (collected by :mod:`andon.api`)."""

from .viewsets import (
    GenealogyViewSet,
    InspectionResultViewSet,
    NonConformanceViewSet,
    QualityHoldViewSet,
)

routes = [
    ("quality-holds", QualityHoldViewSet, "qualityhold"),
    ("nonconformances", NonConformanceViewSet, "nonconformance"),
    ("inspection-results", InspectionResultViewSet, "inspectionresult"),
    ("genealogy", GenealogyViewSet, "genealogy"),
]
