"""Approvals: flows, requests, decisions, delegation, escalation and their messages."""
