from django.urls import path

from tickets import views

app_name = "tickets"
urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_create, name="create"),
    path("<str:number>/", views.ticket_detail, name="detail"),
    path("<str:number>/comment/", views.ticket_comment, name="comment"),
    path("<str:number>/transition/", views.ticket_transition, name="transition"),
    path("<str:number>/edit/", views.ticket_edit, name="edit"),
    path("<str:number>/assign/", views.ticket_assign, name="assign"),
    path("<str:number>/resolution/", views.ticket_resolution, name="resolution"),
    path("<str:number>/withdraw/", views.ticket_withdraw, name="withdraw"),
    path("<str:number>/links/", views.ticket_link_add, name="link-add"),
    path("<str:number>/links/remove/", views.ticket_link_remove, name="link-remove"),
]
