"""The recall as a file: CSV or XLSX, one row per lot reached, then the shipments."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse

from ..selectors import Recall

HEADER = ["depth", "lot", "item", "kind", "made by order", "quantity", "status"]
SHIPPED = ["shipment", "customer", "shipped", "lot", "quantity"]


def rows(found: Recall) -> tuple[list[list], list[list]]:
    lots = [
        [
            found.depth[lot.pk],
            lot.number,
            lot.item.code,
            lot.item.kind,
            lot.made_by,
            lot.quantity,
            lot.status,
        ]
        for lot in found.lots
    ]
    shipped = [
        [
            line.shipment.number,
            line.shipment.customer,
            line.shipment.shipped_at.isoformat(),
            line.lot.number,
            line.quantity,
        ]
        for line in found.shipments
    ]
    return lots, shipped


def _safe(value):
    """No cell a spreadsheet would run as a formula."""
    text = str(value)
    return (
        "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(text) else value
    )


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def recall_response(found: Recall, fmt: str) -> HttpResponse:
    lots, shipped = rows(found)
    name = f"recall-{found.lot.site.code}-{found.lot.number}".replace("/", "_")
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "Lots"
        for row in [HEADER, *lots]:
            sheet.append([_safe(v) if isinstance(v, str) else v for v in row])
        ships = book.create_sheet("Shipments")
        for row in [SHIPPED, *shipped]:
            ships.append([_safe(v) if isinstance(v, str) else v for v in row])
        out = io.BytesIO()
        book.save(out)
        response = HttpResponse(
            out.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows([[_safe(v) for v in row] for row in lots])
    writer.writerow([])
    writer.writerow(SHIPPED)
    writer.writerows([[_safe(v) for v in row] for row in shipped])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
