"""Outbox delivery jobs (the WeCom-edge work fills these in)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def deliver_due() -> int:
    """Deliver every outbox row that is due. Returns how many were attempted."""
    import runtime
    from wecom.delivery import deliver_due as _deliver

    return _deliver(runtime.current())
