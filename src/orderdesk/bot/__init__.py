"""Callback views (app XML, intelligent bot JSON), router, command and card handlers."""
