from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken

from tickets.api import views


class TokenApi(ObtainAuthToken):
    """POST username and password, get `{"token": "..."}`; send it as `Authorization: Token <token>`."""

    throttle_scope = "auth"


app_name = "api"
urlpatterns = [
    path("auth/token/", TokenApi.as_view(), name="auth-token"),
    path("tickets/", views.TicketListCreateApi.as_view(), name="ticket-list"),
    path("tickets/<str:number>/", views.TicketDetailApi.as_view(), name="ticket-detail"),
    path("tickets/<str:number>/transitions/", views.TicketTransitionApi.as_view(), name="ticket-transitions"),
    path("tickets/<str:number>/resolution/", views.TicketResolutionApi.as_view(), name="ticket-resolution"),
    path("tickets/<str:number>/comments/", views.TicketCommentApi.as_view(), name="ticket-comments"),
    path("tickets/<str:number>/events/", views.TicketEventListApi.as_view(), name="ticket-events"),
    path("tickets/<str:number>/attachments/", views.TicketAttachmentApi.as_view(), name="ticket-attachments"),
    path(
        "tickets/<str:number>/attachments/<int:attachment_id>/",
        views.AttachmentDownloadApi.as_view(),
        name="attachment-download",
    ),
    path("tickets/<str:number>/links/", views.TicketLinkApi.as_view(), name="ticket-links"),
    path("tickets/<str:number>/links/<int:link_id>/", views.TicketLinkDeleteApi.as_view(), name="ticket-link"),
]
