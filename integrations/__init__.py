"""Integrations with the systems around the floor: ``erp`` (orders in, outcomes out)."""
