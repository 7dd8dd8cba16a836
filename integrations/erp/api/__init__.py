"""The ERP's REST API: batch ingest, the pull feed, reconciliation and time to ERP."""
