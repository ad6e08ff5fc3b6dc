from django.urls import path

from classification import views

app_name = "classification"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("rules/new/", views.rule_edit, name="rule-new"),
    path("rules/<int:pk>/", views.rule_edit, name="rule-edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule-delete"),
    path("categories/", views.category_add, name="category-add"),
    path("categories/<int:pk>/toggle/", views.category_toggle, name="category-toggle"),
    path("priority/", views.priority_tables, name="priority"),
]
