"""The pure arithmetic of escalation thresholds (escalations/thresholds.py): every threshold is business time
of the clock's calendar, paused time does not count, and a share crossed at the end of a working day falls
due when work resumes. On any history, the instant of a percentage equals the SLA's own warning instant."""

import os
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from escalations.choices import ThresholdKind
from escalations.thresholds import (
    ClockFacts,
    LevelRule,
    PathSpec,
    TicketFacts,
    crossing_instant,
    level_due,
    levels_due,
    path_select,
    share_us,
    used_us,
    why_not_live,
)
from sla.calendar import Calendar
from sla.replay import PolicySet, PolicySpec, ReplayEvent, iso, replay_clocks
from tickets.choices import TicketEventType

ROME = ZoneInfo("Europe/Rome")
OFFICE = Calendar(time_zone="Europe/Rome", ranges=[(d, time(8), time(17)) for d in range(5)], holiday_country="IT")
H = timedelta(hours=1)


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


def clock(started=None, target=8 * H, pauses=(), stopped=None, metric="resolution", cycle=1):
    started = started or rome(2026, 3, 2, 9)
    return ClockFacts(metric, cycle, target, started, tuple(pauses), stopped, OFFICE)


def rule(kind, **kw) -> LevelRule:
    return LevelRule(id=kw.pop("id", 1), number=kw.pop("number", 1), name="L", kind=kind, **kw)


def pause(a: datetime, b: datetime | None, reason="awaiting_customer") -> dict:
    return {"from": iso(a), "to": iso(b) if b else None, "reason": reason}


def test_percent_before_and_after_the_target_are_business_time():
    c = clock()  # Monday 09:00, 8h of business time: the target is used up at 17:00, due Tuesday 08:00
    pct75 = rule(ThresholdKind.CLOCK_PERCENT, metric="resolution", percent=75)
    before2 = rule(ThresholdKind.BEFORE_TARGET, metric="resolution", duration=2 * H)
    breach = rule(ThresholdKind.AFTER_TARGET, metric="resolution", duration=timedelta(0))
    after2 = rule(ThresholdKind.AFTER_TARGET, metric="resolution", duration=2 * H)
    assert crossing_instant(c, share_us(pct75, c.target)) == rome(2026, 3, 2, 15)
    assert crossing_instant(c, share_us(before2, c.target)) == rome(2026, 3, 2, 15)
    # the 8h are used at 17:00, when nobody works: the breach is declared when work resumes, not at night
    assert crossing_instant(c, share_us(breach, c.target)) == rome(2026, 3, 3, 8)
    assert crossing_instant(c, share_us(after2, c.target)) == rome(2026, 3, 3, 10)
    # a weekend and a holiday are not business time either: Friday 16:00 + 3h is Tuesday 10:00 after Easter Monday
    friday = clock(started=rome(2026, 4, 3, 16), target=3 * H)
    assert crossing_instant(friday, share_us(breach, friday.target)) == rome(2026, 4, 7, 10)


def test_paused_time_does_not_count_and_a_paused_clock_cannot_cross():
    # awaiting the customer Monday 10:00-12:00: 75% (6h) is used at 17:00, so it crosses Tuesday 08:00
    c = clock(pauses=[pause(rome(2026, 3, 2, 10), rome(2026, 3, 2, 12))])
    assert used_us(c, rome(2026, 3, 2, 13)) == 2 * 3600 * 10**6
    assert crossing_instant(c, 6 * 3600 * 10**6) == rome(2026, 3, 3, 8)
    # paused since 11:00 having used 2h: 25% (2h) was crossed (in the past); 50% cannot be while paused
    paused = clock(pauses=[pause(rome(2026, 3, 2, 11), None)])
    assert crossing_instant(paused, 1 * 3600 * 10**6) == rome(2026, 3, 2, 10)
    assert crossing_instant(paused, 4 * 3600 * 10**6) is None
    # a clock stopped (met) at 12:00 crossed its 25% and nothing more
    met = clock(stopped=rome(2026, 3, 2, 12))
    assert crossing_instant(met, 2 * 3600 * 10**6) == rome(2026, 3, 2, 11)
    assert crossing_instant(met, 4 * 3600 * 10**6) is None


def test_the_time_resolved_before_a_reopen_is_not_counted():
    # resolved Monday 11:00, reopened Tuesday 08:00 ("resolved" pause): 75% = 6h = 2h Monday + 4h Tuesday
    c = clock(pauses=[pause(rome(2026, 3, 2, 11), rome(2026, 3, 3, 8), "resolved")])
    assert crossing_instant(c, 6 * 3600 * 10**6) == rome(2026, 3, 3, 12)


def test_status_update_overdue_is_business_time_after_the_flag():
    facts = TicketFacts(is_open=True, update_due_since=rome(2026, 3, 2, 16, 30), update_calendar=OFFICE)
    d = level_due(rule(ThresholdKind.NO_UPDATE, duration=H), facts)
    assert d.at == rome(2026, 3, 3, 8, 30) and d.key.startswith("update@2026-03-02T15:30:00")
    assert level_due(rule(ThresholdKind.NO_UPDATE, duration=H), TicketFacts(is_open=True)) is None


def test_reopened_levels_fire_at_the_reopen_and_again_at_each_later_one():
    at = rome(2026, 3, 2, 12)
    twice = rule(ThresholdKind.REOPENED, count=2)
    assert level_due(twice, TicketFacts(is_open=True, reopen_count=1, last_reopen_at=at)) is None
    d2 = level_due(twice, TicketFacts(is_open=True, reopen_count=2, last_reopen_at=at))
    d3 = level_due(twice, TicketFacts(is_open=True, reopen_count=3, last_reopen_at=at))
    assert d2.at == at and d2.key != d3.key


def test_levels_due_in_firing_order_and_nothing_for_a_closed_ticket():
    c = clock()
    rules = [
        rule(ThresholdKind.AFTER_TARGET, id=3, number=3, metric="resolution", duration=2 * H),
        rule(ThresholdKind.CLOCK_PERCENT, id=1, number=1, metric="resolution", percent=75),
        rule(ThresholdKind.AFTER_TARGET, id=2, number=2, metric="resolution", duration=timedelta(0)),
        rule(ThresholdKind.CLOCK_PERCENT, id=4, number=4, metric="first_response", percent=50),  # no such clock
    ]
    due = levels_due(rules, TicketFacts(is_open=True, clocks={"resolution": c}))
    assert [d.rule.number for d in due] == [1, 2, 3]
    assert {d.key for d in due} == {"resolution#1.r0"}
    assert levels_due(rules, TicketFacts(is_open=False, clocks={"resolution": c})) == []


def test_what_de_escalates():
    running = clock()
    facts = TicketFacts(is_open=True, clocks={"resolution": running})
    assert why_not_live(metric="resolution", cycle=1, key="resolution#1.r0", ticket=facts, ticket_status="new") is None
    assert (
        why_not_live(metric="resolution", cycle=1, key="k", ticket=TicketFacts(is_open=False), ticket_status="resolved")
        == "resolved"
    )
    met = TicketFacts(is_open=True, clocks={"resolution": clock(stopped=rome(2026, 3, 2, 12))})
    assert why_not_live(metric="resolution", cycle=1, key="k", ticket=met, ticket_status="in_progress") == "clock_met"
    cycled = TicketFacts(is_open=True, clocks={"next_update": clock(metric="next_update", cycle=3)})
    assert why_not_live(metric="next_update", cycle=2, key="k", ticket=cycled, ticket_status="new") == "new_cycle"
    assert why_not_live(metric="", cycle=None, key="update@x", ticket=facts, ticket_status="new") == "update_sent"


def test_the_first_matching_path_applies():
    default = PathSpec(id=9, name="Default")
    p1 = PathSpec(id=1, name="P1", priorities=frozenset({"P1"}))
    net = PathSpec(id=2, name="Network", group_ids=frozenset({7}), policy_ids=frozenset({3}))
    paths = [p1, net, default]
    assert path_select(paths, policy_id=3, group_id=7, priority="P1").name == "P1"
    assert path_select(paths, policy_id=3, group_id=7, priority="P3").name == "Network"
    assert path_select(paths, policy_id=4, group_id=7, priority="P3").name == "Default"
    assert path_select([p1], policy_id=None, group_id=None, priority="P2") is None


# --- the same instants as the SLA's own warnings, on any history -------------------------------------------

STEPS = ["pending_customer", "pending_vendor", "in_progress", "resolve", "reopen", "agent_reply", "customer_reply"]
POLICY = PolicySpec(
    id=1,
    name="Office",
    calendar=OFFICE,
    targets={"first_response": 2 * H, "resolution": 12 * H, "next_update": 3 * H},
    pause_on={"resolution": frozenset({"awaiting_customer"}), "next_update": frozenset({"awaiting_customer"})},
    thresholds=(25, 50, 75, 90),
)


def _events(start: datetime, steps: list[tuple[int, str]]) -> list[ReplayEvent]:
    events = [ReplayEvent(TicketEventType.CREATED, start, {"status": "new", "priority": "P3"})]
    status, at = "new", start
    for minutes, step in steps:
        at += timedelta(minutes=minutes)
        if step == "agent_reply":
            events.append(ReplayEvent(TicketEventType.COMMENT_ADDED, at, {"public": True, "by_agent": True}))
            continue
        if step == "customer_reply":
            events.append(ReplayEvent(TicketEventType.COMMENT_ADDED, at, {"public": True, "by_agent": False}))
            continue
        to = {"pending_customer": "pending", "pending_vendor": "pending", "resolve": "resolved"}.get(
            step, "in_progress"
        )
        if (status == "resolved") != (step == "reopen"):
            continue
        data = {"from": status, "to": to}
        if to == "pending":
            data["pending_reason"] = "awaiting_customer" if step == "pending_customer" else "awaiting_vendor"
        events.append(ReplayEvent(TicketEventType.STATUS_CHANGED, at, data))
        status = to
    return events


@settings(max_examples=int(os.environ.get("ITSM_HYPOTHESIS_EXAMPLES", 60)), deadline=None)
@given(
    start=st.integers(0, 30 * 24 * 60).map(lambda m: datetime(2026, 3, 16, tzinfo=UTC) + timedelta(minutes=m)),
    steps=st.lists(st.tuples(st.integers(0, 30 * 60), st.sampled_from(STEPS)), max_size=12),
)
def test_percent_instants_equal_the_sla_warning_instants_on_any_history(start, steps):
    _, clocks = replay_clocks(_events(start, steps), PolicySet((POLICY,)))
    for result in clocks.values():
        facts = ClockFacts(
            result.metric, result.cycle, result.target, result.started_at, result.pauses, result.stopped_at, OFFICE
        )
        for pct, instant in result.thresholds.items():
            share = share_us(rule(ThresholdKind.CLOCK_PERCENT, metric=result.metric, percent=int(pct)), result.target)
            expected = datetime.fromisoformat(instant) if instant else None
            assert crossing_instant(facts, share) == expected, (result.metric, pct)
        if result.stopped_at is None and not result.is_paused:
            assert used_us(facts, result.as_of) == result.elapsed // timedelta(microseconds=1)
