from django.urls import path

from communications import views

app_name = "communications"
urlpatterns = [
    path("resolution/<str:token>/", views.resolution_link, name="resolution"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<int:pk>/", views.template_edit, name="template-edit"),
    path("tickets/<str:number>/status-update/", views.ticket_status_update, name="status-update"),
    path("tickets/<str:number>/info-request/", views.ticket_info_request, name="info-request"),
]
