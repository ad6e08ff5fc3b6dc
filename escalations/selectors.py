"""Reads of the escalation domain: the configured paths as the pure arithmetic needs them, a ticket's facts
(clocks, status-update flag, reopens), what the ticket page and the Service Manager's overview show, and what
vendors may see (their cases only: anything else does not exist for them)."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.roles import Role, user_is_agent, user_role_names
from escalations.choices import VENDOR_CASE_ACTIVE, VENDOR_CASE_OPEN, EscalationKind, VendorClockState
from escalations.models import (
    Escalation,
    EscalationLevel,
    EscalationPath,
    MajorIncident,
    Notification,
    TicketCollaboration,
    UnderpinningContract,
    Vendor,
    VendorCase,
    VendorCaseMessage,
)
from escalations.thresholds import ClockFacts, LevelRule, PathSpec, TicketFacts
from itsm.lib.errors import NotFound
from sla.calendar import Calendar, CalendarError, business_time_between
from sla.choices import SlaMetric
from sla.models import SlaClock
from sla.selectors import calendar_compile
from tickets.choices import OPEN_STATUSES, TicketEventType
from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_path_cache: dict[str, tuple[tuple, tuple[PathSpec, ...]]] = {}


# --- configuration, compiled ----------------------------------------------------------------------------


def _path_stamp() -> tuple:
    """Changes whenever a path (or its levels: path_save bumps the path's version) is added, edited or deleted."""
    from django.db import connection

    with connection.cursor() as cursor:  # plain SQL: this runs for every change of every ticket
        cursor.execute(f"SELECT COUNT(*), SUM(version), MAX(updated_at) FROM {EscalationPath._meta.db_table}")
        return tuple(cursor.fetchone())


def level_rule(level: EscalationLevel) -> LevelRule:
    return LevelRule(
        id=level.pk,
        number=level.number,
        name=level.name,
        kind=level.kind,
        metric=level.metric,
        percent=level.percent,
        duration=level.duration,
        count=level.count,
    )


def path_set_load(*, use_cache: bool = True) -> tuple[PathSpec, ...]:
    """The active paths in position order with their levels. One small query when nothing changed since the
    last call in this process."""
    stamp = _path_stamp()
    cached = _path_cache.get("paths")
    if use_cache and cached is not None and cached[0] == stamp:
        return cached[1]
    paths = (
        EscalationPath.objects.filter(is_active=True)
        .prefetch_related(
            "sla_policies", "resolver_groups", Prefetch("levels", EscalationLevel.objects.order_by("number"))
        )
        .order_by("position", "id")
    )
    specs = tuple(
        PathSpec(
            id=p.pk,
            name=p.name,
            policy_ids=frozenset(x.pk for x in p.sla_policies.all()),
            group_ids=frozenset(g.pk for g in p.resolver_groups.all()),
            priorities=frozenset(p.priorities or []),
            levels=tuple(level_rule(level) for level in p.levels.all()),
        )
        for p in paths
    )
    with _lock:
        _path_cache["paths"] = (stamp, specs)
    return specs


def path_list() -> QuerySet[EscalationPath]:
    return EscalationPath.objects.prefetch_related(
        "sla_policies",
        "resolver_groups",
        Prefetch(
            "levels",
            EscalationLevel.objects.select_related("contact", "functional_group", "vendor").order_by("number"),
        ),
    )


def levels_by_id(level_ids: Sequence[int]) -> dict[int, EscalationLevel]:
    return EscalationLevel.objects.select_related("path", "contact", "functional_group", "vendor").in_bulk(
        list(level_ids)
    )


# --- a ticket's facts -------------------------------------------------------------------------------------


@dataclass
class TicketState:
    """One ticket as the check sees it: the facts for the arithmetic, and the keys for the path choice."""

    ticket_id: int
    status: str
    policy_id: int | None
    group_id: int | None
    priority: str
    facts: TicketFacts


def _compile(calendar) -> Calendar | None:
    try:
        return calendar_compile(calendar)
    except CalendarError:  # a calendar broken outside the services: its clocks cannot fire until it is fixed
        logger.exception("Escalations: calendar %s is unusable", calendar.pk)
        return None


def ticket_states(tickets: Sequence[Ticket]) -> dict[int, TicketState]:
    """The facts of many tickets in a fixed number of queries (clocks with their calendars, the
    status-update flags, the last reopen of reopened tickets)."""
    from communications.models import TicketCommunication

    ids = [t.pk for t in tickets]
    clocks: dict[int, list[SlaClock]] = defaultdict(list)
    for clock in (
        SlaClock.objects.filter(ticket_id__in=ids)
        .select_related("calendar")
        .prefetch_related("calendar__hours", "calendar__holidays")
    ):
        clocks[clock.ticket_id].append(clock)
    flags = dict(
        TicketCommunication.objects.filter(ticket_id__in=ids, status_update_due_since__isnull=False).values_list(
            "ticket_id", "status_update_due_since"
        )
    )
    reopened = [t.pk for t in tickets if t.reopen_count]
    last_reopen: dict[int, datetime] = {}
    if reopened:
        last_reopen = dict(
            TicketEvent.objects.filter(
                ticket_id__in=reopened, event_type=TicketEventType.STATUS_CHANGED, data__has_key="reopen_count"
            )
            .values_list("ticket_id")
            .annotate(at=Max("created_at"))
            .order_by()
        )
    out: dict[int, TicketState] = {}
    for t in tickets:
        facts: dict[str, ClockFacts] = {}
        policy_id = None
        update_calendar = None
        for clock in clocks.get(t.pk, []):
            cal = _compile(clock.calendar)
            policy_id = policy_id or clock.policy_id
            if cal is None:
                continue
            facts[clock.metric] = ClockFacts.of(clock, cal)
            if update_calendar is None or clock.metric == SlaMetric.RESOLUTION:
                update_calendar = cal
        out[t.pk] = TicketState(
            ticket_id=t.pk,
            status=t.status,
            policy_id=policy_id,
            group_id=t.resolver_group_id,
            priority=t.priority,
            facts=TicketFacts(
                is_open=t.status in OPEN_STATUSES,
                reopen_count=t.reopen_count,
                last_reopen_at=last_reopen.get(t.pk),
                update_due_since=flags.get(t.pk),
                update_calendar=update_calendar,
                clocks=facts,
            ),
        )
    return out


def due_ticket_ids(*, now: datetime, limit: int, skip: Collection[int] = ()) -> list[int]:
    """The tickets the scan must look at now, earliest first (an index range scan), leaving out those this
    scan found locked."""
    from escalations.models import EscalationSchedule

    due = EscalationSchedule.objects.filter(next_check_at__lte=now)
    if skip:
        due = due.exclude(ticket_id__in=list(skip))
    return list(due.order_by("next_check_at").values_list("ticket_id", flat=True)[:limit])


def due_vendor_case_ids(*, now: datetime, limit: int) -> list[int]:
    return list(
        VendorCase.objects.filter(next_check_at__lte=now).order_by("next_check_at").values_list("pk", flat=True)[:limit]
    )


# --- people -----------------------------------------------------------------------------------------------


def user_is_vendor(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and Role.VENDOR in user_role_names(user))


def vendor_ids_for_user(user) -> QuerySet:
    """The vendors a user speaks for: those listing them as a contact, when they hold the Vendor role."""
    if not user_is_vendor(user):
        return Vendor.objects.none().values("pk")
    return Vendor.objects.filter(contacts=user, is_active=True).values("pk")


def service_managers():
    from accounts.models import User

    return User.objects.filter(is_active=True, groups__name=Role.SERVICE_MANAGER).distinct().order_by("pk")


# --- vendor cases: what a user may see ---------------------------------------------------------------------


def vendor_case_visible_qs(*, user) -> QuerySet[VendorCase]:
    """Agents see every case; a vendor's contact sees the vendor's cases; anyone else none."""
    if user is None or not user.is_authenticated or not user.is_active:
        return VendorCase.objects.none()
    if user_is_agent(user):
        return VendorCase.objects.all()
    return VendorCase.objects.filter(vendor_id__in=vendor_ids_for_user(user))


def vendor_case_list_for_user(*, user, active_only: bool = False) -> QuerySet[VendorCase]:
    qs = vendor_case_visible_qs(user=user).select_related("vendor", "contract__calendar", "ticket")
    if active_only:
        qs = qs.filter(status__in=VENDOR_CASE_OPEN)
    return qs.order_by("-opened_at", "-id")


def vendor_case_get_for_user(*, user, case_id: int) -> VendorCase:
    case = (
        vendor_case_visible_qs(user=user)
        .select_related("vendor", "contract__calendar", "ticket", "opened_by")
        .prefetch_related("contract__calendar__hours", "contract__calendar__holidays")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound("No such vendor case.")
    return case


def vendor_case_messages(*, case: VendorCase) -> QuerySet[VendorCaseMessage]:
    return case.messages.all().order_by("at", "id")


@dataclass(frozen=True)
class VendorClockView:
    label: str
    target: timedelta | None
    due_at: datetime | None
    done_at: datetime | None
    state: str
    remaining: timedelta | None

    @property
    def breached(self) -> bool:
        return self.state == VendorClockState.BREACHED


def _vendor_clock(label, target, due, done, closed, now, cal) -> VendorClockView:
    if due is None:
        return VendorClockView(label, target, None, done, VendorClockState.STOPPED, None)
    if done is not None:
        state = VendorClockState.MET if done <= due else VendorClockState.BREACHED
        end = done
    elif closed is not None:
        state = VendorClockState.BREACHED if closed > due else VendorClockState.STOPPED
        end = closed
    else:
        state = VendorClockState.BREACHED if now > due else VendorClockState.RUNNING
        end = now
    remaining = business_time_between(cal, end, due) if cal is not None else due - end
    return VendorClockView(label, target, due, done, state, remaining)


def vendor_clock_views(case: VendorCase, *, now: datetime | None = None) -> list[VendorClockView]:
    """The case's own clock, on the contract's calendar: response (to the vendor's first answer) and resolution
    (to the vendor's resolution). A case closed by us before the vendor answered stops them."""
    now = now or timezone.now()
    contract = case.contract
    cal = _compile(contract.calendar) if contract is not None else None
    return [
        _vendor_clock(
            "Vendor response",
            contract.response_target if contract else None,
            case.response_due_at,
            case.responded_at,
            case.closed_at,
            now,
            cal,
        ),
        _vendor_clock(
            "Vendor resolution",
            contract.resolution_target if contract else None,
            case.resolution_due_at,
            case.resolved_at,
            case.closed_at,
            now,
            cal,
        ),
    ]


def active_contract_for(vendor: Vendor) -> UnderpinningContract | None:
    return vendor.contracts.filter(is_active=True).select_related("calendar").order_by("pk").first()


# --- vendor performance (reporting) ------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorPerformance:
    vendor_id: int
    vendor: str
    vendor_slug: str
    cases: int
    active: int
    response_met: int
    response_breached: int
    resolution_met: int
    resolution_breached: int

    @staticmethod
    def _rate(met: int, breached: int) -> float | None:
        return round(100 * met / (met + breached), 1) if met + breached else None

    @property
    def response_rate(self) -> float | None:
        return self._rate(self.response_met, self.response_breached)

    @property
    def resolution_rate(self) -> float | None:
        return self._rate(self.resolution_met, self.resolution_breached)


def _met_breached(done: str, due: str, now: datetime) -> tuple[Q, Q]:
    """(met, breached) conditions of one vendor clock: met when done by the due time; breached when done late,
    or not done and past due (still open, or closed by us after the due time)."""
    has_due = Q(**{f"{due}__isnull": False})
    met = has_due & Q(**{f"{done}__isnull": False, f"{done}__lte": F(due)})
    late = Q(**{f"{done}__gt": F(due)})
    missed = Q(**{f"{done}__isnull": True}) & (
        Q(closed_at__isnull=True, **{f"{due}__lt": now}) | Q(closed_at__gt=F(due))
    )
    return met, has_due & (late | missed)


def vendor_performance(
    *, now: datetime | None = None, since: datetime | None = None, until: datetime | None = None
) -> list[VendorPerformance]:
    """Per vendor, the cases opened in [since, until): how many, how many still with the vendor, and the
    response and resolution targets met and breached. One grouped query."""
    now = now or timezone.now()
    qs = VendorCase.objects.all()
    if since is not None:
        qs = qs.filter(opened_at__gte=since)
    if until is not None:
        qs = qs.filter(opened_at__lt=until)
    rm, rb = _met_breached("responded_at", "response_due_at", now)
    sm, sb = _met_breached("resolved_at", "resolution_due_at", now)
    rows = (
        qs.values("vendor_id", "vendor__name", "vendor__slug")
        .annotate(
            cases=Count("id"),
            active=Count("id", filter=Q(status__in=VENDOR_CASE_ACTIVE)),
            response_met=Count("id", filter=rm),
            response_breached=Count("id", filter=rb),
            resolution_met=Count("id", filter=sm),
            resolution_breached=Count("id", filter=sb),
        )
        .order_by("vendor__name")
    )
    return [
        VendorPerformance(
            vendor_id=r["vendor_id"],
            vendor=r["vendor__name"],
            vendor_slug=r["vendor__slug"],
            cases=r["cases"],
            active=r["active"],
            response_met=r["response_met"],
            response_breached=r["response_breached"],
            resolution_met=r["resolution_met"],
            resolution_breached=r["resolution_breached"],
        )
        for r in rows
    ]


# --- the ticket page ----------------------------------------------------------------------------------------


@dataclass
class TicketEscalationPanel:
    path_name: str = ""
    current: Escalation | None = None
    history: list[Escalation] = field(default_factory=list)
    collaborations: list[TicketCollaboration] = field(default_factory=list)
    vendor_cases: list[VendorCase] = field(default_factory=list)
    major: MajorIncident | None = None
    children: list[Ticket] = field(default_factory=list)
    next_check_at: datetime | None = None

    @property
    def active(self) -> list[Escalation]:
        return [e for e in self.history if e.closed_at is None]


def current_escalation(active: Sequence[Escalation]) -> Escalation | None:
    """The level a ticket is at: its highest active path level, else its latest active escalation by hand."""
    if not active:
        return None
    return max(active, key=lambda e: (e.level_number, e.fired_at, e.pk))


def ticket_escalation_panel(*, ticket: Ticket, user) -> TicketEscalationPanel:
    """What the ticket page shows of escalations (agents: everything; others: nothing but the vendor cases
    a vendor may see)."""
    from escalations.models import EscalationSchedule
    from tickets.choices import LinkKind
    from tickets.selectors import ticket_visible_qs

    panel = TicketEscalationPanel()
    if not user_is_agent(user):
        panel.vendor_cases = list(vendor_case_visible_qs(user=user).filter(ticket=ticket).select_related("vendor"))
        return panel
    panel.history = list(ticket.escalations.order_by("fired_at", "id").select_related("actor"))
    panel.current = current_escalation(panel.active)
    schedule = EscalationSchedule.objects.filter(ticket=ticket).select_related("path").first()
    if schedule is not None:
        panel.path_name = schedule.path.name if schedule.path else ""
        panel.next_check_at = schedule.next_check_at
    panel.collaborations = list(
        ticket.collaborations.filter(removed_at__isnull=True).select_related("group", "added_by")
    )
    panel.vendor_cases = list(ticket.vendor_cases.select_related("vendor", "contract__calendar"))
    panel.major = MajorIncident.objects.filter(ticket=ticket).select_related("declared_by").first()
    if panel.major is not None:
        panel.children = list(
            ticket_visible_qs(user=user)
            .filter(links_in__source=ticket, links_in__kind=LinkKind.PARENT_OF)
            .select_related("requester")
            .order_by("number")
        )
    return panel


# --- the Service Manager's overview -----------------------------------------------------------------------


@dataclass(frozen=True)
class OverviewRow:
    ticket_id: int
    number: str
    title: str
    priority: str
    status: str
    group: str
    group_slug: str
    level_number: int
    level_label: str
    kinds: tuple[str, ...]
    vendors: tuple[str, ...]
    since: datetime
    at_level_for: timedelta
    escalations: int


def escalation_overview(
    *, now: datetime | None = None, level: int | None = None, group: str = "", vendor: str = ""
) -> dict:
    """Tickets currently escalated (an escalation not de-escalated yet): each at its current level, with its
    group, the vendors of its open cases and the time it has been at that level; and the counts by level,
    group and vendor. A fixed number of queries, whatever the number of escalated tickets."""
    now = now or timezone.now()
    active = list(
        Escalation.objects.filter(closed_at__isnull=True)
        .values(
            "pk",
            "ticket_id",
            "level_number",
            "level_name",
            "kinds",
            "fired_at",
            "ticket__number",
            "ticket__title",
            "ticket__priority",
            "ticket__status",
            "ticket__resolver_group__name",
            "ticket__resolver_group__slug",
        )
        .order_by("ticket_id", "fired_at", "pk")
    )
    by_ticket: dict[int, list[dict]] = defaultdict(list)
    for row in active:
        by_ticket[row["ticket_id"]].append(row)
    vendors: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for ticket_id, name, slug in (
        VendorCase.objects.filter(ticket_id__in=list(by_ticket), status__in=VENDOR_CASE_OPEN)
        .order_by("vendor__name")
        .values_list("ticket_id", "vendor__name", "vendor__slug")
    ):
        if (name, slug) not in vendors[ticket_id]:
            vendors[ticket_id].append((name, slug))
    rows: list[OverviewRow] = []
    for ticket_id, escs in by_ticket.items():
        top = max(escs, key=lambda e: (e["level_number"], e["fired_at"], e["pk"]))
        kinds = tuple(dict.fromkeys(k for e in escs for k in e["kinds"]))
        if top["level_number"]:
            label = f"Level {top['level_number']}: {top['level_name']}"
        else:
            label = "By hand: " + ", ".join(
                EscalationKind(k).label.lower() for k in top["kinds"] if k in EscalationKind
            )
        rows.append(
            OverviewRow(
                ticket_id=ticket_id,
                number=top["ticket__number"],
                title=top["ticket__title"],
                priority=top["ticket__priority"],
                status=top["ticket__status"],
                group=top["ticket__resolver_group__name"] or "Unassigned",
                group_slug=top["ticket__resolver_group__slug"] or "",
                level_number=top["level_number"],
                level_label=label,
                kinds=kinds,
                vendors=tuple(n for n, _ in vendors.get(ticket_id, [])),
                since=top["fired_at"],
                at_level_for=now - top["fired_at"],
                escalations=len(escs),
            )
        )
    by_level: dict[tuple[str, str], int] = defaultdict(int)
    by_group: dict[tuple[str, str], int] = defaultdict(int)
    by_vendor: dict[tuple[str, str], int] = defaultdict(int)
    vendor_slugs = {slug: name for vs in vendors.values() for name, slug in vs}
    slug_of = {name: slug for slug, name in vendor_slugs.items()}
    for r in rows:
        by_level[(f"Level {r.level_number}" if r.level_number else "By hand", str(r.level_number))] += 1
        by_group[(r.group, r.group_slug)] += 1
        for v in r.vendors:
            by_vendor[(v, slug_of.get(v, ""))] += 1
    if level is not None:
        rows = [r for r in rows if r.level_number == level]
    if group:
        rows = [r for r in rows if r.group_slug == group]
    if vendor:
        rows = [r for r in rows if vendor_slugs.get(vendor) in r.vendors]
    rows.sort(key=lambda r: (-r.level_number, r.since))
    return {
        "rows": rows,
        "total": len(by_ticket),
        # (label, count, filter value), for the summary bars
        "by_level": [(k[0], n, k[1]) for k, n in sorted(by_level.items(), key=lambda x: (x[0][1] == "0", x[0][1]))],
        "by_group": [(k[0], n, k[1]) for k, n in sorted(by_group.items(), key=lambda x: (-x[1], x[0][0]))],
        "by_vendor": [(k[0], n, k[1]) for k, n in sorted(by_vendor.items(), key=lambda x: (-x[1], x[0][0]))],
        "now": now,
    }


# --- notifications -------------------------------------------------------------------------------------------


def notification_list(*, user, limit: int = 100) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("ticket").order_by("-created_at", "-id")[:limit]


def notification_unread_count(*, user) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
