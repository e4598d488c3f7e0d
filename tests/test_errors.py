"""One exception tree: every exception class of publisher/ is a PublisherError and is listed,
with where it lives, in publisher.errors' docstring."""

import importlib
import inspect
import pkgutil
import re

import pytest

import publisher
from publisher import errors
from publisher.errors import PublisherError

# ``Name`` (where, a Base): one entry of the docstring; "here" is publisher.errors itself.
_ENTRY = re.compile(r"^``(\w+)`` \(([^)]*)\)", re.M)


def _modules() -> list[str]:
    names = [publisher.__name__]
    for module in pkgutil.walk_packages(publisher.__path__, f"{publisher.__name__}."):
        if not module.name.endswith(".__main__"):
            names.append(module.name)
    return names


def _exception_classes() -> list[tuple[str, type[BaseException]]]:
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name:
                found.append((name, value))
    return found


def _documented() -> dict[str, set[str]]:
    """Class name → the modules the docstring says it lives in."""
    places: dict[str, set[str]] = {}
    for name, where in _ENTRY.findall(errors.__doc__ or ""):
        for part in where.split(", "):
            if part == "here":
                places.setdefault(name, set()).add(errors.__name__)
            elif part.startswith("publisher."):
                places.setdefault(name, set()).add(part)
    return places


EXCEPTIONS = _exception_classes()


def test_the_walk_finds_the_exceptions_of_every_package() -> None:
    modules = {module for module, _ in EXCEPTIONS}
    some = {"publisher.errors", "publisher.digests.renderer", "publisher.feeds.websub", "publisher.web.security"}
    assert some <= modules


@pytest.mark.parametrize(("module", "cls"), EXCEPTIONS, ids=lambda value: getattr(value, "__name__", value))
def test_every_exception_is_a_publisher_error(module: str, cls: type[BaseException]) -> None:
    assert issubclass(cls, PublisherError), f"{module}.{cls.__name__} does not derive from PublisherError"


@pytest.mark.parametrize(("module", "cls"), EXCEPTIONS, ids=lambda value: getattr(value, "__name__", value))
def test_every_exception_is_listed_where_it_lives(module: str, cls: type[BaseException]) -> None:
    where = "here" if module == errors.__name__ else module
    assert module in _documented().get(cls.__name__, set()), (
        f"publisher/errors.py's docstring lacks the entry ``{cls.__name__}`` ({where}, …)"
    )


def test_the_docstring_lists_no_class_that_is_gone() -> None:
    defined = {(module, cls.__name__) for module, cls in EXCEPTIONS}
    listed = {(module, name) for name, modules in _documented().items() for module in modules}
    assert listed <= defined


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("publisher.tokens", "TokenError"),
        ("publisher.addresses", "InvalidAddress"),
        ("publisher.addresses", "UnsupportedAddress"),
        ("publisher.addresses", "InvalidName"),
        ("publisher.child_process", "ChildStopped"),
        ("publisher.delivery.event_payload", "WebhookPayloadError"),
        ("publisher.delivery.events", "WebhookSignatureError"),
        ("publisher.delivery.events", "WebhookDisabledError"),
    ],
)
def test_moved_errors_are_still_found_where_callers_import_them(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)
