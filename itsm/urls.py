from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from tickets import views as ticket_views

urlpatterns = [
    path("", ticket_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tickets/", include("tickets.urls")),
    path("attachments/<int:attachment_id>/", ticket_views.attachment_download, name="attachment-download"),
    path("reporting/", include("reporting.urls")),
    path("groups/", include("assignment.urls")),
    path("sla/", include("sla.urls")),
    path("classification/", include("classification.urls")),
    path("mail/", include("mail.urls")),
    path("communications/", include("communications.urls")),
    path("escalations/", include("escalations.urls")),
    path("api/v1/", include("tickets.api.urls")),
    path("api/v1/", include("escalations.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
]
