"""Change requests (变更单) on an order: raise, submit, withdraw (`service`), the approved
change applied in one transaction (`outcome`), the order's version history (`versions`) and
the chat/API argument parsing (`parsing`)."""
