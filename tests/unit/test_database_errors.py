"""Which database errors are the database's trouble (waited out, 503) and which are the
data's (the event is retried alone and parked; the request is refused)."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg import exceptions as pg

from shared.db import transient_sqlstate, unavailable


@pytest.mark.parametrize(
    "exc",
    [
        pg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
        pg.DiskFullError("could not extend file"),
        pg.OutOfMemoryError("out of memory"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
        pg.LockNotAvailableError("canceling statement due to lock timeout"),
        pg.QueryCanceledError("canceling statement due to statement timeout"),
        pg.SerializationError("could not serialize access"),
        pg.DeadlockDetectedError("deadlock detected"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.CrashShutdownError("terminating connection because of crash of another process"),
        pg.CannotConnectNowError("the database system is starting up"),
        pg.IdleInTransactionSessionTimeoutError("idle-in-transaction timeout"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("connection is closed"),
        ConnectionRefusedError(111, "refused"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_the_database_s_trouble_is_waited_out(exc: BaseException) -> None:
    assert unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        pg.UniqueViolationError("duplicate key"),
        pg.NumericValueOutOfRangeError("numeric field overflow"),
        pg.DatetimeFieldOverflowError("date/time field value out of range"),
        pg.CharacterNotInRepertoireError("invalid byte sequence for encoding UTF8: 0x00"),
        pg.UndefinedColumnError("column does not exist"),
        pg.CheckViolationError("violates check constraint"),
        asyncpg.DataError("invalid input for query argument $1"),
        OverflowError("date value out of range"),
        ValueError("bad"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_the_data_s_fault_is_not(exc: BaseException) -> None:
    assert not unavailable(exc)


def test_a_wrapped_database_error_is_classified_by_its_cause() -> None:
    try:
        try:
            raise pg.ReadOnlySQLTransactionError("read-only")
        except pg.PostgresError as inner:
            raise RuntimeError("projection failed") from inner
    except RuntimeError as outer:
        assert unavailable(outer)


def test_sqlstate_classes() -> None:
    assert transient_sqlstate("53100") and transient_sqlstate("53999")  # a whole class
    assert transient_sqlstate("08006") and transient_sqlstate("57P01")
    assert transient_sqlstate("40001") and not transient_sqlstate("40002")  # deferred constraint
    assert not transient_sqlstate("25001") and not transient_sqlstate(None)
