"""The escalation API (v1): vendor cases (agents see all; a vendor's contacts only their vendor's: anything else
is a 404), a ticket's escalations, functional escalation and vendor cases opened by agents. Each view
validates input, calls one selector or service, serializes the result."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import user_is_agent
from catalog.models import ResolverGroup
from escalations import selectors, services, vendors
from escalations.choices import FunctionalMode
from escalations.models import Escalation, Vendor, VendorCase
from itsm.lib.errors import NotFound
from tickets import selectors as ticket_selectors


class VendorClockSerializer(serializers.Serializer):
    label = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)
    state = serializers.CharField(help_text="running, met, breached or stopped")
    remaining_business_seconds = serializers.SerializerMethodField()

    def get_remaining_business_seconds(self, view) -> int | None:
        return int(view.remaining.total_seconds()) if view.remaining is not None else None


class VendorCaseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    vendor = serializers.CharField(source="vendor.name")
    vendor_reference = serializers.CharField()
    status = serializers.CharField()
    summary = serializers.CharField()
    ticket = serializers.SerializerMethodField()
    contract = serializers.CharField(source="contract.name", allow_null=True, default=None)
    opened_at = serializers.DateTimeField()
    responded_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    response_due_at = serializers.DateTimeField(allow_null=True)
    resolution_due_at = serializers.DateTimeField(allow_null=True)
    clocks = serializers.SerializerMethodField()

    def get_ticket(self, case: VendorCase) -> dict:
        return {"number": case.ticket.number, "title": case.ticket.title, "status": case.ticket.status}

    def get_clocks(self, case: VendorCase) -> list[dict]:
        return VendorClockSerializer(selectors.vendor_clock_views(case, now=self.context.get("now")), many=True).data


class EscalationOutputSerializer(serializers.ModelSerializer):
    label = serializers.CharField()
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = Escalation
        fields = [
            "id",
            "label",
            "level_number",
            "level_name",
            "path_name",
            "kinds",
            "threshold",
            "key",
            "crossed_at",
            "fired_at",
            "reason",
            "active",
            "closed_at",
            "closed_reason",
        ]


class FunctionalInputSerializer(serializers.Serializer):
    group = serializers.PrimaryKeyRelatedField(queryset=ResolverGroup.objects.filter(is_active=True))
    mode = serializers.ChoiceField(choices=FunctionalMode.choices)
    reason = serializers.CharField(max_length=2000)
    version = serializers.IntegerField(required=False)


class VendorCaseInputSerializer(serializers.Serializer):
    vendor = serializers.SlugRelatedField(slug_field="slug", queryset=Vendor.objects.filter(is_active=True))
    summary = serializers.CharField(max_length=5000)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class VendorCaseListApi(APIView):
    @extend_schema(responses=VendorCaseOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        qs = selectors.vendor_case_list_for_user(user=request.user, active_only=request.query_params.get("open") == "1")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = VendorCaseOutputSerializer(page, many=True, context={"now": timezone.now()}).data
        return paginator.get_paginated_response(data)


class VendorCaseDetailApi(APIView):
    @extend_schema(responses=VendorCaseOutputSerializer)
    def get(self, request: Request, case_id: int) -> Response:
        case = selectors.vendor_case_get_for_user(user=request.user, case_id=case_id)
        return Response(VendorCaseOutputSerializer(case, context={"now": timezone.now()}).data)


def _agent_ticket(request: Request, number: str):
    """The ticket, for agents; for anyone else it does not exist here."""
    ticket = ticket_selectors.ticket_get_for_user(user=request.user, number=number)
    if not user_is_agent(request.user):
        raise NotFound(f"No ticket {number}.")
    return ticket


class TicketEscalationApi(APIView):
    @extend_schema(responses=EscalationOutputSerializer(many=True))
    def get(self, request: Request, number: str) -> Response:
        ticket = _agent_ticket(request, number)
        return Response(EscalationOutputSerializer(ticket.escalations.order_by("fired_at", "id"), many=True).data)

    @extend_schema(request=FunctionalInputSerializer, responses={201: EscalationOutputSerializer})
    def post(self, request: Request, number: str) -> Response:
        """Functional escalation by hand: move the ticket to the group, or add the group as collaborating."""
        ticket = _agent_ticket(request, number)
        data = FunctionalInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        esc = services.escalation_functional(
            ticket=ticket,
            actor=request.user,
            group=v["group"],
            mode=v["mode"],
            reason=v["reason"],
            expected_version=v.get("version"),
        )
        return Response(EscalationOutputSerializer(esc).data, status=status.HTTP_201_CREATED)


class TicketVendorCaseApi(APIView):
    @extend_schema(request=VendorCaseInputSerializer, responses={201: VendorCaseOutputSerializer})
    def post(self, request: Request, number: str) -> Response:
        """Open a case with a vendor: it is mailed, and the ticket waits for the vendor."""
        ticket = _agent_ticket(request, number)
        data = VendorCaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        case = vendors.vendor_case_open(
            ticket=ticket, vendor=v["vendor"], actor=request.user, summary=v["summary"], reference=v["reference"]
        )
        return Response(
            VendorCaseOutputSerializer(case, context={"now": timezone.now()}).data, status=status.HTTP_201_CREATED
        )
