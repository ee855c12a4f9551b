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


class Window:
    """A page of a query without counting it: one row more than the page tells whether more follow.

    For lists that can hold hundreds of thousands of rows (a popular treatment's tips), where a
    COUNT(*) for "page 3 of 9,512" would cost more than the page itself.
    """

    def __init__(self, session, query, page: int, per_page: int):
        rows = session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)).unique().all()
        self.items = rows[:per_page]
        self.page, self.per_page, self.pages = page, per_page, None
        self.has_prev, self.has_next = page > 1, len(rows) > per_page
        self.prev_num, self.next_num = page - 1, page + 1
