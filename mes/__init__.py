"""The production core: sites and their calendars, work centers, machines, items, work orders,
operations, lots and confirmations; accounts, roles and site-scoped access; the outbox, the event
catalogue and notifications. It imports no other Andon app."""
