from django.urls import path

from escalations import views

app_name = "escalations"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("paths/new/", views.path_edit, name="path-new"),
    path("paths/<int:pk>/", views.path_edit, name="path-edit"),
    path("<int:pk>/close/", views.escalation_close, name="close"),
    path("tickets/<str:number>/functional/", views.ticket_functional, name="functional"),
    path("tickets/<str:number>/vendor-case/", views.ticket_vendor_case, name="vendor-case-open"),
    path("tickets/<str:number>/major/", views.ticket_major, name="major"),
    path("tickets/<str:number>/major/children/", views.ticket_major_child, name="major-child"),
    path("collaborations/<int:pk>/end/", views.collaboration_end, name="collaboration-end"),
    path("vendor-cases/", views.vendor_case_list, name="vendor-cases"),
    path("vendor-cases/<int:pk>/", views.vendor_case_detail, name="vendor-case"),
    path("vendor-cases/<int:pk>/update/", views.vendor_case_update, name="vendor-case-update"),
    path("vendor-cases/<int:pk>/mail/", views.vendor_case_mail, name="vendor-case-mail"),
    path("vendor-cases/<int:pk>/reply/", views.vendor_case_reply, name="vendor-case-reply"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notification_read, name="notifications-read"),
]
