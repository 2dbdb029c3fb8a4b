"""Delivery and client service: what a client sees of their order (status links)."""
