"""Reports: aggregate SQL over the live tables, scoped by the caller (see `scope` in each report).

Each report is one function returning a `Table` (columns + rows) so the API, the xlsx download
and the chat summary render the same figures.
"""
