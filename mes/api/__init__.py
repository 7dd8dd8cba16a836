"""REST API of the production core (DRF): thin viewsets over scoped querysets and services."""
