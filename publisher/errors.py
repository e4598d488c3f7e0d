"""The exception tree. Every error a user can act on is a PublisherError.

The CLI turns a PublisherError into one line on stderr and a non-zero exit; anything
else is a bug and keeps its traceback. Vendor exceptions are wrapped where they enter.
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
