"""WeCom callback endpoints: `/wecom/callback` (self-built app, XML) and `/wecom/bot` (intelligent
bot, JSON). GET verifies the URL; POST verifies, decrypts, parses, dedupes, dispatches within the
budget and answers with an encrypted passive reply.

Order of checks (each answered at once, nothing changed): body size (413) -> query parameters
(400) -> envelope (400) -> timestamp within 10 minutes (403) -> signature (403) -> decryption /
receiver (400 / 403) -> plaintext (400).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, request

from orderdesk import metrics
from orderdesk.bot import deadline
from orderdesk.bot.router import load_handlers, router
from orderdesk.wecom import dedupe, envelopes, parsing
from orderdesk.wecom.crypto import BadRequest, CallbackCrypto, CallbackError, check_timestamp
from orderdesk.wecom.events import Channel, UnknownEvent

if TYPE_CHECKING:
    from orderdesk.runtime import Runtime
    from orderdesk.settings import Settings

log = logging.getLogger(__name__)

bp = Blueprint("wecom", __name__)


@bp.record_once
def _preload_handlers(_state: object) -> None:
    # Import the command modules at startup, not inside the first callback's 3 s budget.
    try:
        load_handlers()
    except Exception:  # a broken handler module must not stop the app from serving callbacks
        log.exception("could not preload the bot handlers")


MAX_BODY = 64 * 1024


def crypto_for(settings: Settings, channel: Channel) -> CallbackCrypto:
    if channel == "app":
        return CallbackCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    # The intelligent bot's receive id is the empty string (D:101033 / D:91144).
    return CallbackCrypto(settings.wecom_bot_token, settings.wecom_bot_aes_key, "")


@bp.route("/wecom/callback", methods=["GET", "POST"])
def app_callback() -> Response:
    return _handle("app")


@bp.route("/wecom/bot", methods=["GET", "POST"])
def bot_callback() -> Response:
    return _handle("bot")


def _handle(channel: Channel) -> Response:
    started = time.monotonic()
    rt: Runtime = current_app.extensions["orderdesk"]
    # The router names the command it ran in this mutable note (shared with its thread).
    note = metrics.command_note("verify_url" if request.method == "GET" else "none")
    try:
        if request.method == "GET":
            return _verify_url(rt, channel)
        return _receive(rt, channel, started)
    except CallbackError as exc:
        note["command"] = "refused"
        log.info("wecom %s callback refused (%d): %s", channel, exc.status, exc)
        return Response(type(exc).__name__, status=exc.status, mimetype="text/plain")
    finally:
        metrics.observe_callback(channel, note["command"], time.monotonic() - started)


def _params(*names: str) -> list[str]:
    values = [request.args.get(name, "") for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise BadRequest(f"missing parameters: {', '.join(missing)}")
    return values


def _verify_url(rt: Runtime, channel: Channel) -> Response:
    signature, timestamp, nonce, echostr = _params("msg_signature", "timestamp", "nonce", "echostr")
    check_timestamp(timestamp)
    plain = crypto_for(rt.settings, channel).verify_url(signature, timestamp, nonce, echostr)
    # The plaintext alone: no quotes, no newline (WeCom compares it byte for byte).
    return Response(plain, status=200, mimetype="text/plain")


class _TooLarge(CallbackError):
    status = 413


def _body() -> str:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _TooLarge(f"body of {request.content_length} bytes")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise _TooLarge("body over 64 KB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8") from exc


def _receive(rt: Runtime, channel: Channel, started: float) -> Response:
    body = _body()
    signature, timestamp, nonce = _params("msg_signature", "timestamp", "nonce")
    encrypt = parsing.app_envelope(body) if channel == "app" else parsing.bot_envelope(body)
    crypto = crypto_for(rt.settings, channel)
    check_timestamp(timestamp)  # a replay after the dedupe window must not run again
    plaintext = crypto.decrypt_verified(signature, timestamp, nonce, encrypt)
    event = parsing.parse(channel, plaintext)
    if isinstance(event, UnknownEvent):
        log.info("wecom %s: ignoring %s from %s", channel, event.kind, event.user_id)
        return Response("", status=200)

    # D:101033: a reply is sealed with the nonce of the callback URL (the bot refuses any
    # other); Tencent's sample does the same for the app, so both channels reuse it.
    def sealed(plaintext: str) -> Response:
        return _sealed(crypto, channel, plaintext, nonce=nonce)

    claim = dedupe.claim(rt, event.dedupe_key, channel)
    if claim.state == "done":
        log.info("wecom %s: retried delivery of %s; same reply", channel, event.dedupe_key)
        return sealed(claim.reply)
    if claim.state == "busy":
        # WeCom retried: it has given up on the first delivery, which is still running. Say
        # "processing"; the first delivery then sends its reply through the outbox.
        cached = dedupe.wait_for_first(rt, claim)
        return sealed(cached if cached is not None else envelopes.processing_body(event))

    outcome = deadline.run(_dispatcher(), event, rt, started=started)
    if outcome.error is not None:
        # Nothing was committed (the handler's transaction rolled back): let WeCom retry it.
        dedupe.release(rt, claim)
        log.error(
            "wecom %s: dispatch of %s failed", channel, event.dedupe_key, exc_info=outcome.error
        )
        return Response("error", status=500, mimetype="text/plain")
    if not outcome.finished:
        body_text = envelopes.processing_body(event)
        dedupe.complete(rt, claim, body_text, late=body_text)  # the late reply is queued anyway
        return sealed(body_text)

    rendered = envelopes.render(outcome.reply, event, corp_id=rt.settings.wecom_corp_id)
    deadline.queue(rt, rendered.followups)
    if dedupe.complete(rt, claim, rendered.body, late=envelopes.processing_body(event)):
        # A retry answered "processing" while we ran: this connection is dead to WeCom, so
        # the reply reaches the user once, through the outbox (same key as any followup).
        deadline.queue(rt, envelopes.late_messages(outcome.reply, event))
        return Response("", status=200)
    return sealed(rendered.body)


def _dispatcher() -> deadline.Dispatch:
    """`bot.router.router.dispatch`, unless the app carries another router (tests, benchmarks:
    `app.extensions["orderdesk.router"]`)."""
    custom = current_app.extensions.get("orderdesk.router")
    if custom is not None:
        return custom.dispatch
    return router.dispatch


def _sealed(crypto: CallbackCrypto, channel: Channel, plaintext: str, *, nonce: str) -> Response:
    if not plaintext:
        return Response("", status=200)  # "no passive reply"
    if channel == "app":
        body = envelopes.seal_app(crypto, plaintext, nonce=nonce)
        return Response(body, status=200, mimetype="text/xml")
    body = envelopes.seal_bot(crypto, plaintext, nonce=nonce)
    return Response(body, status=200, mimetype="application/json")
