"""Pages of at most ``max_limit`` rows, and offsets the database can take."""

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 10**9


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=`` is capped at 500 (``limit=1000000`` is 500 rows, not every row); an
    offset past any real table is capped too (PostgreSQL's OFFSET is a bigint)."""

    max_limit = 500

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)
