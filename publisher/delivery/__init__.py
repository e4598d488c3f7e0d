"""Delivery: transports, the exactly-once ledger engine, orchestration and webhook events.

- content:     one edition's sending context and each recipient's personal values
- mime:        the RFC 5322 message of one recipient (outbox and SMTP)
- transport:   the Transport protocol, batch outcomes, ``open_transport``
- outbox, smtp, sendgrid_api: the three transports (sendgrid is imported only there)
- ratelimit, engine: the rate-limited, retrying, crash-safe batch sender
- send:        ``send_newsletter``, ``send_message``, dry runs and test copies
- events:      the SendGrid Event Webhook handler
- status:      what ``publisher status`` shows about deliveries
"""
