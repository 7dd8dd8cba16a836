import pytest

from exceptions.models import ExceptionType


@pytest.fixture
def shortage(db):
    return ExceptionType.objects.get(code="material_shortage")


@pytest.fixture
def breakdown(db):
    return ExceptionType.objects.get(code="machine_breakdown")
