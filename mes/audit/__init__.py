"""The audit: who changed what, when, why and through which channel, and evidence that
nobody changed the record of it since.

- :mod:`mes.audit.context`: the channel a change came through (page, API, ERP, ...), stamped
  on every history row next to the request id.
- :mod:`mes.audit.chain`: every history row and timeline entry is chained, per record, by a
  keyed hash the database computes as the row is inserted; :mod:`mes.audit.verify` finds
  the first broken link (``manage.py verify_audit``). What that proves: ``docs/audit.md``.
"""
