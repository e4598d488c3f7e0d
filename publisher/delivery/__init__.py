"""Delivery: transports, the exactly-once ledger engine, orchestration and webhook events.

- content:     one edition's sending context and each recipient's personal values
- mime:        the RFC 5322 message of one recipient (outbox and SMTP)
- transport:   the Transport protocol and batch outcomes, which every transport implements
- registry:    ``open_transport``: the transport chosen by name, its module imported then
- outbox, smtp, sendgrid_api: the three transports (sendgrid is imported only there)
- ratelimit, engine: the rate-limited, retrying, crash-safe batch sender
- send:        ``send_newsletter``, ``send_message``, dry runs and test copies
- manual_send: ``publisher send``, recorded as a run (``send:SLUG``)
- events:      the SendGrid Event Webhook handler
- status:      what ``publisher status`` shows about deliveries
"""
