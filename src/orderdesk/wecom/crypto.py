"""WeCom callback crypto (D:91144): signature, AES-256-CBC envelope, receive id check.

Built on wechatpy's cipher (`wechatpy.crypto.base.WeChatCipher`, the same AES-CBC with IV = key[:16]
that `wechatpy.enterprise.crypto.WeChatCrypto` uses), with the parsing done strictly here because
wechatpy's `PrpCrypto.decrypt` trusts its input: it neither validates base64 nor the PKCS#7 padding
nor the length prefix, and raises whatever the bytes happen to trigger. A callback edge must turn
every malformed input into one typed error (400), a wrong signature or receiver into another (403).

The same class serves both callbacks: receive id = corp id for the self-built app, "" for the
intelligent bot (wechatpy's WeChatCrypto would work for "" too, but its JSON path does not exist).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import string
import struct
from dataclasses import dataclass

from wechatpy.crypto.base import WeChatCipher

from orderdesk.core import clock

BLOCK = 32  # WeCom pads to a multiple of 32 bytes (not AES's 16).
_NONCE_CHARS = string.ascii_letters + string.digits


class CallbackError(Exception):
    """A callback we refuse. `status` is the HTTP answer; the message is for logs only."""

    status = 400


class BadRequest(CallbackError):
    """Missing parameters, malformed body, bad base64 / padding / length."""

    status = 400


class BadSignature(CallbackError):
    """msg_signature does not match: not from WeCom (or a different token)."""

    status = 403


class StaleTimestamp(CallbackError):
    """Signed, but not now: a captured callback replayed after the dedupe window."""

    status = 403


# WeCom signs with its current time; 10 minutes absorbs clock drift and its three retries.
MAX_TIMESTAMP_SKEW_SECONDS = 600


def check_timestamp(timestamp: str) -> None:
    """Refuse a callback whose timestamp is more than 10 minutes from now (either way)."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise BadRequest("timestamp is not a number of seconds")
    skew = abs(int(timestamp) - clock.now().timestamp())
    if skew > MAX_TIMESTAMP_SKEW_SECONDS:
        raise StaleTimestamp(f"timestamp {timestamp} is {int(skew)} s from now")


class WrongReceiver(CallbackError):
    """Decrypted fine but addressed to another corp / bot."""

    status = 403


@dataclass(frozen=True)
class Envelope:
    """An encrypted message and the signature over it."""

    encrypt: str
    signature: str
    timestamp: str
    nonce: str


def sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """sha1 over the sorted concatenation of the four strings (D:91144)."""
    parts = sorted([token, timestamp, nonce, encrypt])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def new_nonce(length: int = 16) -> str:
    # One urandom call (secrets.choice costs a syscall per character); the modulo bias is
    # irrelevant for a nonce / the discarded 16-byte prefix.
    return "".join(_NONCE_CHARS[b % len(_NONCE_CHARS)] for b in os.urandom(length))


class CallbackCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self.token = token
        self.key = key
        self.receive_id = receive_id

    # -- signature ---------------------------------------------------------------------------

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = sign(self.token, timestamp, nonce, encrypt)
        # Constant time: the signature is the only thing standing between a caller and us.
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise BadSignature("msg_signature mismatch")

    # -- decrypt -----------------------------------------------------------------------------

    def decrypt(self, encrypt: str) -> str:
        """The plaintext message of an (already verified) `Encrypt` value."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("Encrypt is not valid base64") from exc
        if not raw or len(raw) % 16:
            raise BadRequest("ciphertext length is not a multiple of the AES block")
        plain = WeChatCipher(self.key).decrypt(raw)
        pad = plain[-1]
        if pad < 1 or pad > BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise BadRequest("bad PKCS#7 padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise BadRequest("plaintext too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise BadRequest("length prefix exceeds the plaintext")
        message, receiver = content[4 : 4 + length], content[4 + length :]
        try:
            text = message.decode("utf-8")
            receiver_text = receiver.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("plaintext is not UTF-8") from exc
        if not hmac.compare_digest(receiver_text.encode(), self.receive_id.encode()):
            raise WrongReceiver("receive id mismatch")
        return text

    # -- files -------------------------------------------------------------------------------

    def decrypt_file(self, data: bytes) -> bytes:
        """A file the intelligent bot hands out by URL (an image of a `mixed` or `image`
        message): AES-256-CBC with the bot's key, IV = key[:16], PKCS#7 to 32 bytes, no
        random prefix or length (Tencent's bot demo for D:101039 decrypts it this way)."""
        if not data or len(data) % 16:
            raise BadRequest("file ciphertext length is not a multiple of the AES block")
        plain = WeChatCipher(self.key).decrypt(data)
        pad = plain[-1]
        if pad < 1 or pad > BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise BadRequest("bad PKCS#7 padding in the file")
        return bytes(plain[:-pad])

    def encrypt_file(self, data: bytes) -> bytes:
        """The inverse of `decrypt_file` (tests and the local chat simulator)."""
        pad = BLOCK - len(data) % BLOCK
        return bytes(WeChatCipher(self.key).encrypt(data + bytes([pad]) * pad))

    def decrypt_verified(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        self.verify(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET verification: the decrypted echostr, to be answered alone."""
        return self.decrypt_verified(msg_signature, timestamp, nonce, echostr)

    # -- encrypt -----------------------------------------------------------------------------

    def encrypt_raw(self, message: str) -> str:
        body = message.encode("utf-8")
        prefix = new_nonce(16).encode("ascii")
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        return base64.b64encode(WeChatCipher(self.key).encrypt(plain)).decode("ascii")

    def encrypt(
        self, message: str, *, nonce: str | None = None, timestamp: str | None = None
    ) -> Envelope:
        encrypted = self.encrypt_raw(message)
        ts = timestamp or str(int(clock.now().timestamp()))
        nc = nonce or new_nonce()
        return Envelope(encrypted, sign(self.token, ts, nc, encrypted), ts, nc)
