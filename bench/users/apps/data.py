"""The ``dataframe`` scenario's rows, the same for every framework (no imports: the
peers' virtualenvs load this file by path).

``value`` is a permutation of ``v00000``..``v09999``, so sorting by it is real
work, page 1 sorted starts with ``v00000`` and page 2 with ``v00100``, and
neither is on the unsorted first page (``v01234`` first).
"""

ROWS = 10_000
PAGE = 100


def rows() -> list[dict[str, object]]:
    """The 10,000 rows: ``{"id": i, "value": "v....."}``."""
    return [{"id": i, "value": f"v{(i * 7919 + 1234) % ROWS:05d}"} for i in range(ROWS)]
