"""Test doubles for the network edge only (a fake WeCom HTTP server, subprocess entry points)."""
