"""Callback crypto against Tencent's sample vectors, wechatpy, and arbitrary text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import WeChatCrypto

from orderdesk.wecom.crypto import BadRequest, BadSignature, CallbackCrypto, WrongReceiver, sign

VECTORS_PATH = Path(__file__).resolve().parents[3] / "shared" / "wecom-vectors.json"
# CI lays shared/ beside the clone; fall back to the machine's copy when run in /work/main.
if not VECTORS_PATH.exists():
    VECTORS_PATH = Path("/work/shared/wecom-vectors.json")
V = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def _crypto(receive_id: str | None = None) -> CallbackCrypto:
    return CallbackCrypto(
        V["token"], V["encoding_aes_key"], V["corp_id"] if receive_id is None else receive_id
    )


def test_url_verification_vector() -> None:
    u = V["url_verification"]
    assert (
        _crypto().verify_url(u["msg_signature"], u["timestamp"], u["nonce"], u["echostr"])
        == u["plaintext"]
    )


def test_xml_message_vector() -> None:
    x = V["xml_message"]
    encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", x["body"]).group(1)  # type: ignore[union-attr]
    plain = _crypto(x["receiveid"]).decrypt_verified(
        x["msg_signature"], x["timestamp"], x["nonce"], encrypt
    )
    assert plain == x["plaintext"]


def test_json_message_vector_compared_as_text() -> None:
    # Tencent's JSON sample plaintext is not valid JSON (their typo): compare it as text.
    j = V["json_message"]
    encrypt = json.loads(j["body"])["encrypt"]
    plain = _crypto(j["receiveid"]).decrypt_verified(
        j["msg_signature"], j["timestamp"], j["nonce"], encrypt
    )
    assert plain == j["plaintext"]


def test_vector_with_the_wrong_corp_id_is_a_wrong_receiver() -> None:
    x = V["xml_message"]
    encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", x["body"]).group(1)  # type: ignore[union-attr]
    with pytest.raises(WrongReceiver):
        _crypto("wwsomeoneelse").decrypt_verified(
            x["msg_signature"], x["timestamp"], x["nonce"], encrypt
        )
    with pytest.raises(BadSignature):
        _crypto().decrypt_verified("0" * 40, x["timestamp"], x["nonce"], encrypt)


def test_signature_is_sha1_of_the_sorted_parts() -> None:
    u = V["url_verification"]
    assert sign(V["token"], u["timestamp"], u["nonce"], u["echostr"]) == u["msg_signature"]


def test_interoperates_with_wechatpy_both_ways() -> None:
    ours = _crypto()
    theirs = WeChatCrypto(V["token"], V["encoding_aes_key"], V["corp_id"])
    env = ours.encrypt(
        "<xml><Content>订单 SO-2026-0001</Content></xml>", nonce="n1", timestamp="1700000000"
    )
    assert theirs.decrypt_message({"Encrypt": env.encrypt}, env.signature, "1700000000", "n1") == (
        "<xml><Content>订单 SO-2026-0001</Content></xml>"
    )
    sealed = theirs.encrypt_message("<xml>回复</xml>", "n2", "1700000001")
    encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", sealed).group(1)  # type: ignore[union-attr]
    signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", sealed).group(1)  # type: ignore[union-attr]
    assert ours.decrypt_verified(signature, "1700000001", "n2", encrypt) == "<xml>回复</xml>"


@pytest.mark.parametrize("encrypt", ["", "@@@@", "YWJj", "YWJjZA==" * 3])
def test_malformed_ciphertext_is_bad_request(encrypt: str) -> None:
    with pytest.raises(BadRequest):
        _crypto().decrypt(encrypt)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(max_size=20 * 1024),
    receive_id=st.sampled_from(["", V["corp_id"]]),
)
def test_round_trip_arbitrary_unicode(text: str, receive_id: str) -> None:
    c = _crypto(receive_id)
    env = c.encrypt(text)
    assert c.decrypt_verified(env.signature, env.timestamp, env.nonce, env.encrypt) == text
    other = _crypto("x" if receive_id == "" else "")
    with pytest.raises(WrongReceiver):
        other.decrypt(env.encrypt)


@settings(max_examples=10, deadline=None)
@given(size=st.integers(min_value=18 * 1024, max_value=20 * 1024))
def test_round_trip_near_20_kb(size: int) -> None:
    text = ("订单" * size)[: size // 3]  # ~size bytes of 3-byte characters
    c = _crypto("")
    env = c.encrypt(text)
    assert c.decrypt_verified(env.signature, env.timestamp, env.nonce, env.encrypt) == text
