from django.urls import path

from escalations import api

app_name = "escalations-api"
urlpatterns = [
    path("vendor-cases/", api.VendorCaseListApi.as_view(), name="vendor-case-list"),
    path("vendor-cases/<int:case_id>/", api.VendorCaseDetailApi.as_view(), name="vendor-case-detail"),
    path("tickets/<str:number>/escalations/", api.TicketEscalationApi.as_view(), name="ticket-escalations"),
    path("tickets/<str:number>/vendor-cases/", api.TicketVendorCaseApi.as_view(), name="ticket-vendor-cases"),
]
