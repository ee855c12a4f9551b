"""Pagination of an already ranked list, with the attributes of Flask-SQLAlchemy's pagination."""

from __future__ import annotations

import math


class Page:
    """One page of items; the templates' pagination macro reads it like db.paginate's result."""

    def __init__(self, items: list, page: int, per_page: int):
        self.total = len(items)
        self.per_page = per_page
        self.pages = max(1, math.ceil(self.total / per_page))
        self.page = min(max(page, 1), self.pages)
        start = (self.page - 1) * per_page
        self.items = items[start : start + per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1
