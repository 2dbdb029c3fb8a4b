"""The WeCom edge: crypto, inbound parsing, API client, cards, outbox delivery, sandbox."""
