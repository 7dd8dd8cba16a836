"""Integrations: ERP (inbound REST, outbound delivery) and OPC UA (later issues)."""
