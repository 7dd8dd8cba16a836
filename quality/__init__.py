"""Quality: inspections, non-conformances, holds and dispositions (a later issue)."""
