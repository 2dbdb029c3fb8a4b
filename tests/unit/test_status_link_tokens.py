"""Status-link tokens: the stored digest depends on the secret key; links carry PUBLIC_URL."""

from __future__ import annotations

from orderdesk.delivery.status_links import digest, link_url


def test_digest_is_keyed_by_the_secret() -> None:
    token = "Vq3x-token"
    assert digest(token, "k1") == digest(token, "k1")
    assert digest(token, "k1") != digest(token, "k2")  # rotating SECRET_KEY voids every link
    assert token not in digest(token, "k1") and len(digest(token, "k1")) == 64


def test_link_url_with_and_without_public_url() -> None:
    assert link_url("https://od.example.com/", "abc") == "https://od.example.com/c/abc"
    assert link_url("", "abc") == "/c/abc"
