"""Classification pages (Service Managers): the ordered rules, categories per service, the priority tables."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from classification import selectors, services
from classification.forms import CategoryForm, PriorityTablesForm, RuleForm
from classification.models import Category, ClassificationRule
from itsm.lib.errors import DomainError
from tickets.choices import Impact, Urgency

manager_required = permission_required(services.CONFIG_PERMISSION, raise_exception=True)


@manager_required
def overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "classification/overview.html",
        {
            "rules": selectors.rule_list_with_counts(),
            "categories": selectors.category_list(active_only=False),
            "category_form": CategoryForm(),
            "tables": selectors.priority_tables(),
        },
    )


@manager_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(ClassificationRule, pk=pk) if pk else None
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(rule) if rule else {})
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.rule_save(actor=request.user, rule=rule, data=dict(form.cleaned_data))
        except DomainError as exc:
            for field, msgs in (exc.details or {}).items():
                for m in msgs:
                    form.add_error(field if field in form.fields else None, m)
        else:
            messages.success(request, f"Rule {saved.name} saved.")
            return redirect("classification:overview")
    return render(request, "classification/rule_form.html", {"form": form, "rule": rule})


@manager_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(ClassificationRule, pk=pk)
    services.rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Rule {rule.name} deleted.")
    return redirect("classification:overview")


@manager_required
@require_POST
def category_add(request: HttpRequest) -> HttpResponse:
    form = CategoryForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(" ".join(v) for v in form.errors.values()))
        return redirect("classification:overview")
    d = form.cleaned_data
    try:
        category = services.category_save(actor=request.user, service=d["service"], parent=d["parent"], name=d["name"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Category {category.path} added to {category.service}.")
    return redirect("classification:overview")


@manager_required
@require_POST
def category_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(Category.objects.select_related("service", "parent"), pk=pk)
    try:
        services.category_save(
            actor=request.user,
            category=category,
            service=category.service,
            parent=category.parent,
            name=category.name,
            is_active=not category.is_active,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("classification:overview")


@manager_required
def priority_tables(request: HttpRequest) -> HttpResponse:
    form = PriorityTablesForm(request.POST or None, tables=selectors.priority_tables())
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.priority_tables_update(actor=request.user, matrix=form.matrix(), shifts=form.shifts())
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{changed} value{'s' if changed != 1 else ''} changed. New priorities use the tables from now on; "
                "existing tickets keep theirs until their impact, urgency or service changes.",
            )
            return redirect("classification:priority")
    return render(
        request,
        "classification/priority.html",
        {"form": form, "impacts": Impact.choices, "urgencies": Urgency.choices},
    )
