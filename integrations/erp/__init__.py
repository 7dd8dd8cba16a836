"""ERP integration: inbound batches keyed by ERP identifiers, outbound events, reconciliation."""
