from django.urls import path

from sla import views

app_name = "sla"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("calendars/new/", views.calendar_edit, name="calendar-new"),
    path("calendars/<int:pk>/", views.calendar_edit, name="calendar-edit"),
    path("policies/new/", views.policy_edit, name="policy-new"),
    path("policies/<int:pk>/", views.policy_edit, name="policy-edit"),
    path("recompute/", views.recompute_all, name="recompute"),
]
