"""Django admin of the exception tickets: the managers' low-code configuration and the tickets.

Types, workflows and routing rules are plain configuration, edited here with history
(simple-history records the user through its middleware) and validated by the models'
``clean()``. Tickets are read-only: they change only through :mod:`exceptions.services`, which
the ticket actions call. Everything a user sees is scoped with ``visible_to(user)``.
"""

from . import config, routing, sla, tickets  # noqa: F401  (importing registers the model admins)
