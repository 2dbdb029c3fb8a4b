"""Money: payment plans, invoices, receipts, collections, aging, reminders and digests."""
