"""Pages of mail intake: the service desk's failed-mail list (reason, raw message, replay), and inline
images of mail bodies (permission-checked like every attachment)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from itsm.lib.errors import DomainError, NotFound, PermissionDenied
from mail import selectors, services
from mail.models import InboundMessage
from tickets.selectors import attachment_get_for_user

# Image types a browser may render inline from a mail body, with the bytes their files must start with.
INLINE_IMAGE_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


def _sniff(head: bytes) -> str | None:
    for content_type, magics in INLINE_IMAGE_TYPES.items():
        if any(head.startswith(m) for m in magics):
            if content_type == "image/webp" and head[8:12] != b"WEBP":
                continue
            return content_type
    return None


@login_required
@permission_required("mail.view_failed_mail", raise_exception=True)
def failed_mail_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.failed_mail_list(), 50).get_page(request.GET.get("page"))
    return render(request, "mail/failed_list.html", {"page": page, "mailboxes": selectors.mailbox_list()})


@login_required
@permission_required("mail.view_failed_mail", raise_exception=True)
def failed_mail_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage.objects.select_related("mailbox", "ticket"), pk=pk)
    raw = bytes(message.raw)
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:20000].decode("utf-8", "replace")
    return render(request, "mail/failed_detail.html", {"message": message, "raw_headers": head})


@login_required
@permission_required("mail.view_failed_mail", raise_exception=True)
def failed_mail_raw(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    response = HttpResponse(bytes(message.raw), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@permission_required("mail.view_failed_mail", raise_exception=True)
@require_POST
def failed_mail_replay(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    try:
        message = services.inbound_message_replay(message=message, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("mail:failed-detail", pk=pk)
    if message.status == "quarantined":
        messages.error(request, f"Still quarantined: {message.reason}")
        return redirect("mail:failed-detail", pk=pk)
    messages.success(request, f"Taken in: {message.reason}")
    return redirect(message.ticket) if message.ticket_id else redirect("mail:failed-list")


@login_required
def attachment_inline(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """An image of a mail body, shown inline only when its bytes really are a raster image."""
    try:
        attachment = attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    except (NotFound, PermissionDenied) as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    handle = attachment.file.open("rb")
    content_type = _sniff(handle.read(16))
    handle.seek(0)
    if content_type is None:
        handle.close()
        return render(request, "404.html", {"message": "Not an image."}, status=404)
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
