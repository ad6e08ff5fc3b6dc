"""On-call rotations: whose turn it is, overrides, and handoffs at local wall-clock time across DST."""

from datetime import UTC, date, datetime, time

import pytest

from assignment.oncall import DAILY, WEEKLY, Override, Rotation, next_handoff, on_call, period_index

ROME_DAILY = Rotation(DAILY, "Europe/Rome", time(9, 0), 0, date(2026, 3, 20), (1, 2, 3))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.smoke
def test_daily_rotation_turns_at_the_handoff_time():
    # 2026-03-20 09:00 in Rome is 08:00 UTC (CET, UTC+1).
    assert on_call(ROME_DAILY, utc(2026, 3, 20, 7, 59)) is None  # before the rotation starts
    assert on_call(ROME_DAILY, utc(2026, 3, 20, 8, 0)) == 1
    assert on_call(ROME_DAILY, utc(2026, 3, 21, 7, 59)) == 1
    assert on_call(ROME_DAILY, utc(2026, 3, 21, 8, 0)) == 2
    assert on_call(ROME_DAILY, utc(2026, 3, 22, 8, 0)) == 3
    assert on_call(ROME_DAILY, utc(2026, 3, 23, 8, 0)) == 1


def test_daily_handoff_stays_at_nine_local_across_the_spring_dst_change():
    # Europe/Rome moves to CEST (UTC+2) on 2026-03-29 at 02:00. The 09:00 handoff moves from 08:00 to 07:00 UTC.
    index_before = period_index(ROME_DAILY, utc(2026, 3, 29, 6, 59))
    index_after = period_index(ROME_DAILY, utc(2026, 3, 29, 7, 0))
    assert index_after == index_before + 1
    assert on_call(ROME_DAILY, utc(2026, 3, 29, 6, 59)) != on_call(ROME_DAILY, utc(2026, 3, 29, 7, 0))
    assert next_handoff(ROME_DAILY, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 7, 0)
    assert next_handoff(ROME_DAILY, utc(2026, 3, 27, 12, 0)) == utc(2026, 3, 28, 8, 0)


def test_weekly_handoff_across_the_autumn_dst_change_in_new_york():
    # Weekly, Mondays 08:00 America/New_York; EDT ends on 2026-11-01 (Sunday).
    rotation = Rotation(WEEKLY, "America/New_York", time(8, 0), 0, date(2026, 10, 19), (10, 20))
    assert on_call(rotation, utc(2026, 10, 19, 12, 0)) == 10  # Mon 08:00 EDT = 12:00 UTC
    assert on_call(rotation, utc(2026, 10, 26, 11, 59)) == 10
    assert on_call(rotation, utc(2026, 10, 26, 12, 0)) == 20
    # After the change, Monday 08:00 EST is 13:00 UTC: at 12:30 UTC it is still the previous week.
    assert on_call(rotation, utc(2026, 11, 2, 12, 30)) == 20
    assert on_call(rotation, utc(2026, 11, 2, 13, 0)) == 10
    assert next_handoff(rotation, utc(2026, 10, 30, 0, 0)) == utc(2026, 11, 2, 13, 0)


def test_weekly_rotation_anchors_on_the_handoff_weekday():
    # starts_on a Wednesday, handoff on Mondays: the first period began the Monday before.
    rotation = Rotation(WEEKLY, "UTC", time(9, 0), 0, date(2026, 12, 2), (1, 2))
    assert on_call(rotation, utc(2026, 12, 3, 12, 0)) == 1
    assert on_call(rotation, utc(2026, 12, 7, 9, 0)) == 2
    assert on_call(rotation, utc(2026, 12, 14, 9, 0)) == 1


def test_override_wins_only_while_it_lasts():
    override = Override(99, utc(2026, 3, 21, 12, 0), utc(2026, 3, 21, 18, 0))
    assert on_call(ROME_DAILY, utc(2026, 3, 21, 12, 0), [override]) == 99
    assert on_call(ROME_DAILY, utc(2026, 3, 21, 18, 0), [override]) == 2


def test_empty_rotation_has_nobody():
    assert on_call(Rotation(DAILY, "UTC", time(0, 0), 0, date(2026, 1, 1), ()), utc(2026, 6, 1)) is None
