"""One FilterSet for tickets, used by the UI list and the API list alike."""

import django_filters
from django.db.models import F, Q

from tickets.choices import Priority, TicketStatus, TicketType
from tickets.models import Ticket


class TicketOrderingFilter(django_filters.OrderingFilter):
    """`time_to_breach`: the ticket whose running SLA clock falls due first comes first (tickets with no
    running clock last); it orders by the deadline the sla app annotates."""

    BREACH = "time_to_breach"

    def filter(self, qs, value):
        if not value or not any(v.lstrip("-") == self.BREACH for v in value):
            return super().filter(qs, value)
        from sla.selectors import annotate_next_breach

        qs = annotate_next_breach(qs)
        ordering = []
        for v in value:
            if v.lstrip("-") == self.BREACH:
                f = F("next_breach_at")
                ordering.append(f.desc(nulls_last=True) if v.startswith("-") else f.asc(nulls_last=True))
            else:
                ordering.append(self.get_ordering_value(v))
        return qs.order_by(*ordering, "-created_at", "-id")


class TicketFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices)
    ticket_type = django_filters.MultipleChoiceFilter(choices=TicketType.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    open = django_filters.BooleanFilter(method="filter_open", label="Open only")
    mine = django_filters.BooleanFilter(method="filter_mine", label="Assigned to me")
    ordering = TicketOrderingFilter(
        fields=(
            ("created_at", "created"),
            ("updated_at", "updated"),
            ("priority", "priority"),
            ("number", "number"),
            ("next_breach_at", TicketOrderingFilter.BREACH),
        )
    )

    class Meta:
        model = Ticket
        fields = [
            "status",
            "ticket_type",
            "priority",
            "channel",
            "service",
            "resolver_group",
            "assignee",
            "requester",
            "organization",
            "category",
        ]

    def __init__(self, *args, request_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_user = request_user

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__iexact=value) | Q(title__icontains=value) | Q(description__icontains=value))

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        done = [TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.CANCELLED]
        return queryset.exclude(status__in=done) if value else queryset.filter(status__in=done)

    def filter_mine(self, queryset, name, value):
        if value and self.request_user is not None:
            return queryset.filter(assignee_id=self.request_user.pk)
        return queryset
