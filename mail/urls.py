from django.urls import path

from mail import views

app_name = "mail"
urlpatterns = [
    path("failed/", views.failed_mail_list, name="failed-list"),
    path("failed/<int:pk>/", views.failed_mail_detail, name="failed-detail"),
    path("failed/<int:pk>/raw/", views.failed_mail_raw, name="failed-raw"),
    path("failed/<int:pk>/replay/", views.failed_mail_replay, name="failed-replay"),
    path("images/<int:attachment_id>/", views.attachment_inline, name="attachment-inline"),
]
