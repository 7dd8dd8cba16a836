"""Demo data of the exceptions app: the sites' working calendars (the SLA clocks)."""

import datetime

from .models import NonWorkingDay, WorkingCalendar


def seed(plant) -> None:
    """P1 runs three shifts Monday 06:00 to Saturday 06:00; P2 runs 06:00-22:00 on weekdays
    and closes for the summer break (the SLA clock stops when a plant does)."""
    by_code = {s.code: s for s in plant.sites}
    WorkingCalendar.objects.create(
        site=by_code["P1"],
        shifts={
            "0": [["06:00", "24:00"]],
            **{str(d): [["00:00", "24:00"]] for d in range(1, 5)},
            "5": [["00:00", "06:00"]],
        },
    )
    p2 = WorkingCalendar.objects.create(
        site=by_code["P2"], shifts={str(d): [["06:00", "22:00"]] for d in range(5)}
    )
    for day in range(3, 15):
        NonWorkingDay.objects.create(
            calendar=p2, date=datetime.date(2026, 8, day), reason="Werksferien"
        )
