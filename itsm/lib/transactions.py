"""`service_atomic`: the transaction boundary of a service function.

A service called from outside any service (a view, a task, a command, a test) runs in `transaction.atomic()`:
its own transaction, or a savepoint when the caller already holds one, so the caller can catch the service's
error and carry on. A service called by another service runs in the caller's transaction without a savepoint
of its own (`savepoint=False`): an error rolls back to the nearest enclosing savepoint, which is what
happens anyway since services do not catch each other's errors. Where one must (retry another way, quarantine
a message), the caller opens its own `with transaction.atomic():` around the call. This saves two round
trips (SAVEPOINT, RELEASE) for every nested service call on the hot paths (a mail taken in makes a dozen)."""

import functools
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import transaction

F = TypeVar("F", bound=Callable)

_depth: ContextVar[int] = ContextVar("itsm_service_depth", default=0)


def service_atomic(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        depth = _depth.get()
        token = _depth.set(depth + 1)
        try:
            with transaction.atomic(savepoint=depth == 0):
                return func(*args, **kwargs)
        finally:
            _depth.reset(token)

    return wrapper  # type: ignore[return-value]


@contextmanager
def service_scope():
    """Mark a block that already opened its own savepoint and catches errors there (mail intake's
    quarantine): the services it calls behave as nested services, without savepoints of their own."""
    token = _depth.set(_depth.get() + 1)
    try:
        yield
    finally:
        _depth.reset(token)


def run_outside_services(func: Callable, *args, **kwargs):
    """Call `func` as if no service were running (used by code that must catch a service's error and go
    on inside a service: it gets its savepoint back)."""
    token = _depth.set(0)
    try:
        return func(*args, **kwargs)
    finally:
        _depth.reset(token)
