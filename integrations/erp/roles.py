"""What each role may do with the ERP integration."""

from mes.roles import grant

grant(
    "manager",
    [
        "erp.view_erpendpoint",
        "erp.add_erpendpoint",
        "erp.change_erpendpoint",
        "erp.view_erpdelivery",
        "erp.change_erpdelivery",
    ],
)
grant("erp_integration", ["erp.ingest_erp", "erp.read_erp_feed"])
