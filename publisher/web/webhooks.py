"""POST /webhooks/sendgrid: SendGrid's Event Webhook, handed raw to publisher.delivery.events.

Off (404, like any unknown address) until ``[delivery.sendgrid] webhook_verification_key`` is
set. The raw body is kept for the signature check; its size is limited by ``[service]
webhook_max_bytes`` before it is read. 403 for a missing, bad or stale signature, 400 for a
body that is not what SendGrid sends (nothing of it is applied), 503 when the store is busy
(SendGrid retries any answer but a 2xx, for up to 24 hours).
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from publisher.app import App
from publisher.delivery.event_payload import WebhookPayloadError
from publisher.delivery.events import WebhookSignatureError, handle_event_webhook
from publisher.errors import PublisherError, StoreError
from publisher.web.context import WebContext

log = logging.getLogger(__name__)


def _handle(app: App, body: bytes, headers: dict[str, str]) -> dict[str, int]:
    report = handle_event_webhook(app, body, headers)
    return {"received": report.received, "applied": report.applied, "duplicates": report.duplicates}


async def sendgrid_events(request: Request) -> Response:
    context = WebContext.of(request)
    if not context.apps.config.delivery.sendgrid.webhook_verification_key:
        raise HTTPException(404)
    body = await request.body()
    try:
        result = await context.call(_handle, body, dict(request.headers))
    except WebhookSignatureError as error:
        log.warning("webhook refused: %s", error)
        return JSONResponse({"error": "invalid signature"}, status_code=403)
    except WebhookPayloadError as error:
        log.warning("webhook refused: %s", error)
        return JSONResponse({"error": str(error)}, status_code=400)
    except StoreError as error:
        log.error("webhook not applied, SendGrid will retry: %s", error)
        return JSONResponse({"error": "try again later"}, status_code=503)
    except PublisherError as error:
        log.error("webhook not applied: %s", error)
        return JSONResponse({"error": "not applied"}, status_code=500)
    return JSONResponse(result)
