"""The ticket API (v1): each view validates input, calls one selector or service, serializes the result.
Visibility comes from tickets.selectors, so a ticket the caller may not see answers 404."""

from django.db import transaction
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import user_is_agent
from accounts.services import cc_contacts_resolve, contact_get_or_create
from classification.services import IntakeContext
from itsm.lib.errors import NotFound, PermissionDenied
from tickets import selectors, services
from tickets.api.serializers import (
    AttachmentOutputSerializer,
    CommentInputSerializer,
    CommentOutputSerializer,
    EventOutputSerializer,
    LinkInputSerializer,
    ResolutionDecisionInputSerializer,
    TicketCreateInputSerializer,
    TicketOutputSerializer,
    TicketUpdateInputSerializer,
    TransitionInputSerializer,
)
from tickets.choices import Channel
from tickets.filters import TicketFilterSet


def _expected_version(request: Request, data: dict) -> int | None:
    """The version the client edited: `version` in the body, or an `If-Match: "<version>"` header."""
    if data.get("version") is not None:
        return int(data["version"])
    header = request.headers.get("If-Match", "").strip().strip("W/").strip('"')
    if header:
        if not header.isdigit():
            raise ValidationError({"If-Match": ["must be the ticket's version number"]})
        return int(header)
    return None


class TicketListCreateApi(APIView):
    @extend_schema(responses=TicketOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        base = selectors.with_list_related(selectors.ticket_visible_qs(user=request.user))
        filterset = TicketFilterSet(request.query_params, queryset=base, request_user=request.user)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(TicketOutputSerializer(page, many=True).data)

    @extend_schema(request=TicketCreateInputSerializer, responses={201: TicketOutputSerializer})
    def post(self, request: Request) -> Response:
        data = TicketCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = request.user
        if user_is_agent(user):
            requester = v.get("requester")
            if requester is None and v.get("requester_email"):
                requester, _ = contact_get_or_create(email=v["requester_email"])
            if requester is None:
                raise ValidationError({"requester": ["Give the requester's id or requester_email."]})
            channel = v.get("channel", Channel.API)
        else:
            if v.get("requester") not in (None, user) or v.get("requester_email"):
                raise PermissionDenied("Customers can only create tickets for themselves.")
            requester, channel = user, Channel.API
        agent = user_is_agent(user)
        if not agent and v.get("priority"):
            raise PermissionDenied("Customers cannot set the priority; give impact and urgency.")
        watchers = cc_contacts_resolve(actor=user, requester=requester, emails=v.get("cc", []))
        ticket = services.ticket_create(
            actor=user,
            requester=requester,
            title=v["title"],
            description=v["description"],
            ticket_type=v.get("ticket_type"),
            channel=channel,
            impact=v["impact"],
            urgency=v["urgency"],
            priority=v.get("priority", ""),
            priority_override_reason=v.get("priority_override_reason", ""),
            service=v.get("service"),
            category=v.get("category"),
            resolver_group=v.get("resolver_group") if agent else None,
            watchers=watchers,
            intake=IntakeContext(form=v.get("form", "")),
        )
        ticket = selectors.ticket_get_for_user(user=user, number=ticket.number)
        return Response(TicketOutputSerializer(ticket).data, status=status.HTTP_201_CREATED)


class TicketDetailApi(APIView):
    @extend_schema(responses=TicketOutputSerializer)
    def get(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        return Response(TicketOutputSerializer(ticket).data)

    @extend_schema(request=TicketUpdateInputSerializer, responses=TicketOutputSerializer)
    def patch(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        data = TicketUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        expected = _expected_version(request, v)
        v.pop("version", None)
        reason = v.pop("assignment_reason", "")
        assignment = {k: v.pop(k) for k in ("resolver_group", "assignee") if k in v}
        with transaction.atomic():
            if v:
                services.ticket_update(ticket=ticket, actor=request.user, data=v, expected_version=expected)
                expected = None
            if assignment:
                services.ticket_assign(
                    ticket=ticket, actor=request.user, reason=reason, expected_version=expected, **assignment
                )
            if not v and not assignment and expected is not None:
                services.ticket_update(ticket=ticket, actor=request.user, data={}, expected_version=expected)
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        return Response(TicketOutputSerializer(ticket).data)


class TicketTransitionApi(APIView):
    @extend_schema(request=TransitionInputSerializer, responses=TicketOutputSerializer)
    def post(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        data = TransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.ticket_transition(
            ticket=ticket,
            actor=request.user,
            to_status=v["to"],
            pending_reason=v["pending_reason"],
            resolution_code=v["resolution_code"],
            resolution_notes=v["resolution_notes"],
            reason=v["reason"],
            expected_version=_expected_version(request, v),
        )
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)  # fresh clocks
        return Response(TicketOutputSerializer(ticket).data)


class TicketResolutionApi(APIView):
    @extend_schema(request=ResolutionDecisionInputSerializer, responses=TicketOutputSerializer)
    def post(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        data = ResolutionDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["accept"]:
            services.resolution_accept(ticket=ticket, actor=request.user)
        else:
            services.resolution_reject(ticket=ticket, actor=request.user, reason=data.validated_data["reason"])
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        return Response(TicketOutputSerializer(ticket).data)


class TicketCommentApi(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=CommentOutputSerializer(many=True))
    def get(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        comments = selectors.comment_list_for_user(ticket=ticket, user=request.user)
        return Response(CommentOutputSerializer(comments, many=True, context={"ticket_number": ticket.number}).data)

    @extend_schema(request=CommentInputSerializer, responses={201: CommentOutputSerializer})
    def post(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        data = CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        # Agents write internal notes unless they say public; customers always write public comments.
        public = bool(v.get("public")) if user_is_agent(request.user) else True
        if not user_is_agent(request.user) and v.get("public") is False:
            raise PermissionDenied("Customers cannot write internal notes.")
        files = v["files"] or request.FILES.getlist("files")
        comment = services.comment_add(
            ticket=ticket, author=request.user, body=v["body"], is_public=public, files=files
        )
        return Response(
            CommentOutputSerializer(comment, context={"ticket_number": ticket.number}).data,
            status=status.HTTP_201_CREATED,
        )


class TicketEventListApi(APIView):
    @extend_schema(responses=EventOutputSerializer(many=True))
    def get(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        events = selectors.event_list_for_user(ticket=ticket, user=request.user)
        return Response(EventOutputSerializer(events, many=True).data)


class TicketAttachmentApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=AttachmentOutputSerializer(many=True))
    def get(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        attachments = selectors.attachment_list_for_user(ticket=ticket, user=request.user)
        return Response(
            AttachmentOutputSerializer(attachments, many=True, context={"ticket_number": ticket.number}).data
        )

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "public": {"type": "boolean"},
                },
            }
        },
        responses={201: AttachmentOutputSerializer(many=True)},
    )
    def post(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        files = request.FILES.getlist("file") or request.FILES.getlist("files")
        if not files:
            raise ValidationError({"file": ["Send one or more files as multipart field 'file'."]})
        public = str(request.data.get("public", "true")).lower() not in ("false", "0", "no")
        if not user_is_agent(request.user):
            public = True
        with transaction.atomic():
            created = [
                services.attachment_add(ticket=ticket, uploaded_by=request.user, upload=f, is_public=public)
                for f in files
            ]
        return Response(
            AttachmentOutputSerializer(created, many=True, context={"ticket_number": ticket.number}).data,
            status=status.HTTP_201_CREATED,
        )


class AttachmentDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, number: str, attachment_id: int):
        attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        if attachment.ticket.number != number.upper():
            raise NotFound("No such attachment.")
        return attachment_response(attachment)


def attachment_response(attachment) -> FileResponse:
    """Always a download, never rendered inline by the browser, whatever the file claims to be."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


LINK_OUTPUT = inline_serializer(
    "TicketLinkOutput",
    {
        "id": serializers.IntegerField(),
        "kind": serializers.CharField(),
        "label": serializers.CharField(),
        "direction": serializers.ChoiceField(choices=["in", "out"]),
        "ticket": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.CharField(),
    },
    many=True,
)


class TicketLinkApi(APIView):
    @extend_schema(responses=LINK_OUTPUT)
    def get(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        links = selectors.link_list_for_user(ticket=ticket, user=request.user)
        return Response(
            [
                {
                    "id": lv.link_id,
                    "kind": lv.kind,
                    "label": lv.label,
                    "direction": "out" if lv.outgoing else "in",
                    "ticket": lv.other.number,
                    "title": lv.other.title,
                    "status": lv.other.status,
                }
                for lv in links
            ]
        )

    @extend_schema(request=LinkInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, number: str) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        data = LinkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        other = selectors.ticket_get_for_user(user=request.user, number=data.validated_data["target"])
        link = services.ticket_link(source=ticket, target=other, kind=data.validated_data["kind"], actor=request.user)
        return Response(
            {"id": link.pk, "kind": link.kind, "source": ticket.number, "target": other.number},
            status=status.HTTP_201_CREATED,
        )


class TicketLinkDeleteApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, number: str, link_id: int) -> Response:
        ticket = selectors.ticket_get_for_user(user=request.user, number=number)
        link = selectors.ticket_link_get(ticket=ticket, link_id=link_id)
        services.ticket_unlink(link=link, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
