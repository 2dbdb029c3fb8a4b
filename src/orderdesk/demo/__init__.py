"""The demo company, built through the same service functions users call."""
