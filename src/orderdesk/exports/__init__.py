"""Exports (issue 13): orders, receipts, invoices, AR aging and the accounting journal of a period
as CSV (UTF-8 with BOM, so Excel opens it) or xlsx written streaming (memory does not grow with
the rows). Rows come from the database in batches (`yield_per`), never all at once."""
