"""The `orderdesk` command, wired in one place (rq's `rq/cli/` is the model).

`base` holds the root group and the helpers every command module shares. Each other
module holds one area's commands and imports `base` only, never a sibling; they are
attached here.
"""

from orderdesk.cli import admin, chat, config, db, outbox, processes
from orderdesk.cli import calendar as calendar_cli  # issue 12c
from orderdesk.cli import exports as exports_cli  # issue 13
from orderdesk.cli import imports as imports_cli  # issue 13: imports
from orderdesk.cli.base import main

admin.register(main)
chat.register(main)
main.add_command(config.config)
main.add_command(db.db)
outbox.register(main)
processes.register(main)
exports_cli.register(main)  # issue 13
calendar_cli.register(main)  # issue 12c
imports_cli.register(main)  # issue 13: imports

__all__ = ["main"]
