"""Exception tickets: types, forms, workflows, routing rules, SLAs, escalations (issue 3 on)."""
