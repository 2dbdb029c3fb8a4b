"""Imports (issue 13): bring customers, contracts, orders, installments and receipts in from the
sheets a company keeps today. `values` reads the messy cells; the importers are still to come."""
