"""Orders: create, edit, lifecycle, lines, numbers, attachments, group bindings and the
timeline."""
