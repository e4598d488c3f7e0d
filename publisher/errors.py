"""The exception tree. Every error the product raises on purpose is a PublisherError.

A PublisherError is something a user can act on, and its message is one line. Vendor
exceptions are wrapped where they enter; anything else is a bug and keeps its traceback.

What the doors answer, unless its entry below says otherwise:

- the CLI prints ``Error: MESSAGE`` on stderr and exits with status 1 (``publisher.cli``);
- the web answers its 500 page and logs the error (``publisher.web.app``);
- the scheduler (``publisher serve``) logs ``job ID failed: MESSAGE`` and records the run as
  failed; ``run-once`` reports ``Error: STEP: MESSAGE`` and goes on with the next step.

Every exception class of the package, where it lives, and what the CLI and the web answer
(tests/test_errors.py fails when a class is missing here or is not a PublisherError):

``PublisherError`` (here)
    The base. CLI: ``Error: MESSAGE``, exit 1. Web: 500 page.
``ConfigError`` (here)
    config.toml or a secret is missing, unknown or malformed. CLI: ``Error: MESSAGE`` naming
    the key, exit 1, before anything is done. Web: ``publisher serve`` does not start; a
    secret found missing later (a transport's key) is logged by the sign-up mailer, which
    keeps the mail queued.
``StoreError`` (here)
    CLI: ``Error: MESSAGE``, exit 1. Web: 500 page; the SendGrid webhook answers 503 (SendGrid
    retries).
``StoreBusy`` (here, a StoreError)
    CLI: ``Error: MESSAGE``, exit 1, nothing written. Web: 503 page with Retry-After.
``StoreDamaged`` (here, a StoreError)
    CLI: ``Error: MESSAGE`` naming the file, exit 1 (also for SQLite's own damage errors).
    Web: 500 page; /healthz answers 503.
``NotFoundError`` (here)
    CLI: ``Error: MESSAGE``, exit 1. Web: a signed link whose subscriber is gone answers
    400 "Lien non valide"; an unknown theme on the sign-up form, 400 with the form; the
    figures of an edition or newsletter that does not exist (``publisher stats``, /admin/), 404.
``FeedsNotWritten`` (here)
    Raised by the feeds step of ``run-once`` and of the scheduler after every other feed is
    written: ``Error: feeds: SUMMARY``, exit 1; ``feeds build`` prints one ``Error:`` line per
    file not written and exits 1. Web: the scheduler logs it.
``TemplateError`` (here)
    CLI: ``Error: MESSAGE`` naming the template, exit 1. Web: the admin preview answers 500
    "Aperçu impossible" with the message.
``InvalidMjml`` (publisher.digests.renderer, a TemplateError)
    Never leaves the digests: the compiler turns it into a TemplateError with the template's
    line.
``DeliveryError`` (here)
    CLI: ``Error: MESSAGE``, exit 1; a send pauses the edition and exits 1. Web: the sign-up
    mailer logs it and keeps the mail queued.
``DeliveryUncertain`` (here, a DeliveryError)
    As DeliveryError, but the message may have left: it is recorded as unknown and not sent
    again unless asked (``send --resend-unknown``).
``UnbuildableMessage`` (publisher.delivery.mime, a DeliveryError)
    That recipient is recorded as failed and the send goes on; never reaches a door.
``RecordError`` (here)
    One line of an import file is rejected. CLI: the line ``FILE:LINE: field: reason`` on
    stderr, the good records are kept, exit 1. Web: none (imports are CLI only).
``TokenError`` (here)
    A signed link is tampered with, for another purpose, or expired. CLI: none. Web: 400
    "Lien non valide" (one-click unsubscribe: 400).
``InvalidAddress`` (here)
    CLI: in an import, ``FILE:LINE: email: reason``; elsewhere ``Error: MESSAGE``, exit 1. Web:
    the sign-up form again, 400, with a generic message (the address is not echoed).
``UnsupportedAddress`` (here, an InvalidAddress)
    As InvalidAddress; the form says the address cannot be used (non-ASCII local part).
``InvalidName`` (here)
    As InvalidAddress, for the ``name`` field.
``ChildStopped`` (here)
    The child process of an import died. CLI: ``Error: MESSAGE``, exit 1, nothing merged.
``WebhookDisabledError`` (here)
    Web: /webhooks/sendgrid answers 404 while no verification key is set.
``WebhookSignatureError`` (here)
    Web: 403 ``{"error": "invalid signature"}``, nothing applied.
``WebhookPayloadError`` (here)
    Web: 400 ``{"error": MESSAGE}``, nothing applied.
``HubError`` (publisher.feeds.websub)
    The WebSub hub refused a ping: never leaves the feeds build, which keeps the topics for the
    next build and reports it in its summary.
``BodyTooLarge`` (publisher.web.security)
    Web: 413 "Requête trop volumineuse.", the body is not read further.

Private classes, control flow inside one module (they never reach a door):

``_ArticleFieldError`` (publisher.article_import)
    One field of an article record; the reader turns it into a RecordError with the file and
    line.
``_SubscriberFieldError`` (publisher.subscribers.csv_read)
    One field of a subscriber row; the reader turns it into a RecordError with the file and
    line.
``_Rollback`` (publisher.delivery.send)
    Undoes a planning transaction (dry runs); caught where it is raised.
"""


class PublisherError(Exception):
    """Base of every error the user can act on; its message is one line."""


class ConfigError(PublisherError):
    """config.toml (or a secret from the environment) is missing, unknown or malformed."""


class StoreError(PublisherError):
    """The SQLite store cannot be opened, is not migrated, or refused a write."""


class StoreBusy(StoreError):
    """Another process kept the store's write lock longer than the busy timeout (a large
    import, a send): nothing was written, and trying again later works."""


class StoreDamaged(StoreError):
    """The store file is not a readable SQLite database (damaged pages, or another file)."""


class NotFoundError(PublisherError):
    """A named thing (article, subscriber, segment, newsletter) does not exist."""


class FeedsNotWritten(PublisherError):
    """A feeds build wrote every feed it could, but some files could not be written."""


class TemplateError(PublisherError):
    """A newsletter template failed to render or compile."""


class DeliveryError(PublisherError):
    """A transport could not deliver a message: it was refused or never left (safe to retry)."""


class DeliveryUncertain(DeliveryError):
    """The message left and no answer came (timeout, lost connection): it may have been
    accepted, so sending it again could deliver it twice."""


class RecordError(PublisherError):
    """One input record (a line of a file) was rejected.

    str() gives the canonical report line ``FILE:LINE: field: reason``.
    """

    def __init__(self, source: str, line: int, field: str, reason: str) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.reason = reason
        super().__init__(f"{source}:{line}: {field}: {reason}")

    def __reduce__(self) -> tuple:  # picklable (an import reads its file in a child process)
        return type(self), (self.source, self.line, self.field, self.reason)


class TokenError(PublisherError):
    """A token was tampered with, is for another purpose, or has expired."""


class InvalidAddress(PublisherError):
    """Not a valid email address; the message says why."""


class UnsupportedAddress(InvalidAddress):
    """A valid address that the policy refuses because a transport could not carry it."""


class InvalidName(PublisherError):
    """A display name that the policy refuses; the message says why."""


class ChildStopped(PublisherError):
    """The child process stopped without finishing (killed, out of memory, unpicklable error)."""


class WebhookDisabledError(PublisherError):
    """No verification key is configured: the webhook is off (answer 404)."""


class WebhookSignatureError(PublisherError):
    """The request is not signed by SendGrid, or not recently (answer 403)."""


class WebhookPayloadError(PublisherError):
    """The request body is not a list of SendGrid events (answer 400)."""
