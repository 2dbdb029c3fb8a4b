"""group robot: a bot-bound group chat may register its group robot (webhook key)

Revision ID: 20261130_group_robot
Revises: 20261129_overdue_index
Create Date: 2026-11-30 00:05:00

The intelligent bot can only answer in a group; it cannot push, and its passive reply cannot
carry an image. A group robot (消息推送 webhook) in the same group can. `群机器人 <Webhook地址>`
stores its key on the group's bot_group binding, so charts asked in the group and notices about
the bound order reach the group through it. Nullable: most bindings have no robot.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261130_group_robot"
down_revision = "20261129_overdue_index"
branch_labels = None
depends_on = None


# Plain ALTER TABLE (no batch copy): a nullable column adds and drops in place on SQLite >= 3.35
# too, and `orderdesk db downgrade` prints its plan in --sql mode, where batch cannot reflect.
def upgrade() -> None:
    op.add_column("chat_bindings", sa.Column("robot_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("chat_bindings", "robot_key")
