"""Imports (issue 13): bring customers, contracts, orders, installments and receipts in from the
sheets a company keeps today. `values` reads the messy cells, `reading` the files, `engine` runs
an import of any kind (`kinds_*`), `runs` keeps the runs the API and the H5 page start."""
