from django.urls import path

from assignment import views

app_name = "assignment"
urlpatterns = [
    path("", views.group_list, name="groups"),
    path("<slug:slug>/", views.group_workload_view, name="workload"),
]
