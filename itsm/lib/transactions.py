"""Transaction boundaries of services, and work settled once at the end of a change.

`service_atomic` is the decorator of a service function. A service called from outside any service (a view,
a task, a command, a test) runs in `transaction.atomic()`: its own transaction, or a savepoint when the caller
already holds one, so the caller can catch the service's error and carry on. A service called by another
service runs in the caller's transaction without a savepoint of its own (`savepoint=False`): an error rolls back
to the nearest enclosing savepoint, which is what happens anyway since services do not catch each other's
errors. Where one must (retry another way, quarantine a message), the caller opens its own
`with transaction.atomic():` around the call. This saves two round trips (SAVEPOINT, RELEASE) for every nested
service call on the hot paths.

`settle_later(key, callback)` registers work to run once when the outermost service call (or `service_scope`)
ends successfully, still inside its transaction: the ticket events a change writes are settled together
(tickets/events.py), so derived state (SLA clocks, escalation schedules) is computed once per change, not once
per event. Outside any service the callback runs at once.

`scope_remember(key, value)` / `scope_recall(key)` keep a fact about the database for the rest of the change
(this ticket's row is locked and this instance holds its data; this is the head of its audit chain), so a
service called after another does not read again what the change already knows. A remembered fact stands only
while every savepoint that was open when it was noted is still open: once one of them is released or rolled
back (which may have undone the write or released the lock), the fact is forgotten and the caller reads the
database again."""

import functools
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import connection, transaction

F = TypeVar("F", bound=Callable)

MAX_SETTLE_ROUNDS = 20


class _Scope:
    def __init__(self) -> None:
        self.callbacks: dict[Any, Callable[[], None]] = {}
        self.data: dict[Any, Any] = {}

    def settle(self) -> None:
        """Run the registered callbacks in order; callbacks may register more (settled in further rounds)."""
        for _ in range(MAX_SETTLE_ROUNDS):
            if not self.callbacks:
                return
            callbacks, self.callbacks = self.callbacks, {}
            for callback in callbacks.values():
                callback()
        raise RuntimeError("Settling a change did not converge (subscribers keep producing work).")


_depth: ContextVar[int] = ContextVar("itsm_service_depth", default=0)
_scope: ContextVar[_Scope | None] = ContextVar("itsm_service_scope", default=None)


def current_scope() -> _Scope | None:
    return _scope.get()


def settle_later(key: Any, callback: Callable[[], None]) -> None:
    """Run `callback` once at the end of the current change (once per key), or now outside any service."""
    scope = _scope.get()
    if scope is None:
        callback()
    else:
        scope.callbacks.setdefault(key, callback)


def _savepoints() -> tuple:
    """The savepoints open now. A block without one (`atomic(savepoint=False)`, Django's None) cannot roll
    back on its own: its failure dooms the enclosing savepoint (`needs_rollback`), so it is left out."""
    return tuple(sid for sid in connection.savepoint_ids if sid is not None)


def scope_remember(key: Any, value: Any) -> None:
    """Note `value` for the rest of the current change (nothing outside any service)."""
    scope = _scope.get()
    if scope is not None and connection.in_atomic_block:
        scope.data[("remembered", key)] = (_savepoints(), value)


def scope_recall(key: Any, default: Any = None) -> Any:
    """What `scope_remember` noted, if every savepoint open at the time is still open; else `default`."""
    scope = _scope.get()
    if scope is None or not connection.in_atomic_block or connection.needs_rollback:
        return default
    entry = scope.data.get(("remembered", key))
    if entry is None:
        return default
    marks, value = entry
    if _savepoints()[: len(marks)] != marks:
        del scope.data[("remembered", key)]
        return default
    return value


@contextmanager
def _outermost():
    """Open a settling scope if none is open; settle it when the block ends without an error."""
    if _scope.get() is not None:
        yield
        return
    scope = _Scope()
    token = _scope.set(scope)
    try:
        yield
        scope.settle()
    finally:
        _scope.reset(token)


def service_atomic(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        depth = _depth.get()
        token = _depth.set(depth + 1)
        try:
            with transaction.atomic(savepoint=depth == 0), _outermost():
                return func(*args, **kwargs)
        finally:
            _depth.reset(token)

    return wrapper  # type: ignore[return-value]


@contextmanager
def service_scope():
    """Mark a block that already opened its own savepoint and catches errors there (mail intake's
    quarantine): the services it calls behave as nested services, without savepoints of their own, and the
    block's changes are settled when it ends. Use inside `transaction.atomic()`."""
    token = _depth.set(_depth.get() + 1)
    try:
        with _outermost():
            yield
    finally:
        _depth.reset(token)
