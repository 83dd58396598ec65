"""« Gestion »: the market admin's pages for distributions."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import admin_view, staff_view
from cagette.http import post_only

from .forms import (
    VALIDATED_MESSAGE,
    DistributionCloseForm,
    DistributionForm,
    DistributionReopenForm,
    is_editable,
)
from .models import Distribution
from .status import distribution_status_change

PAST_PAGE_SIZE = 20


def _get_distribution_for_admin(request, pk) -> Distribution:
    return get_object_or_404(Distribution, pk=pk, market=request.market)


@staff_view
def distribution_list(request):
    """Admins manage distributions here; treasurers reach each one's pages."""
    today = timezone.localdate()
    distributions = Distribution.objects.filter(market=request.market).annotate(
        order_count=Count("orders")
    )
    upcoming = distributions.filter(date__gte=today).order_by("date", "pk")
    past = distributions.filter(date__lt=today).order_by("-date", "-pk")
    page = Paginator(past, PAST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"upcoming": upcoming, "page": page}
    return render(request, "distributions/distribution_list.html", context)


def _distribution_form(request, distribution, success: str):
    data = request.POST if request.method == "POST" else None
    form = DistributionForm(data, instance=distribution, market=request.market)
    if form.is_bound and form.is_valid():
        moved = distribution.pk is not None and "date" in form.changed_data
        distribution = form.save()
        messages.success(request, success % {"distribution": distribution})
        if moved:
            _warn_of_the_move(request, distribution)
        return redirect("distribution_list", request.market.slug)
    status = 400 if form.is_bound else 200
    context = {"form": form, "distribution": distribution}
    return render(request, "distributions/distribution_form.html", context, status=status)


def _warn_of_the_move(request, distribution) -> None:
    """Clients who ordered were told the old date: the admin should tell them."""
    count = distribution.orders.count()
    if count:
        messages.warning(
            request,
            ngettext(
                "%(count)d client a déjà commandé pour cette distribution : prévenez-le du "
                "changement de date. Les références de paiement déjà données restent valables.",
                "%(count)d clients ont déjà commandé pour cette distribution : prévenez-les du "
                "changement de date. Les références de paiement déjà données restent valables.",
                count,
            )
            % {"count": count},
        )


@admin_view
def distribution_create(request):
    return _distribution_form(
        request, Distribution(), _("Distribution « %(distribution)s » créée.")
    )


@admin_view
def distribution_edit(request, pk):
    distribution = _get_distribution_for_admin(request, pk)
    if not is_editable(distribution):
        messages.error(request, VALIDATED_MESSAGE)
        return redirect("distribution_list", request.market.slug)
    success = _("Distribution « %(distribution)s » enregistrée.")
    return _distribution_form(request, distribution, success)


def _change_status(request, pk, form_class, success: str):
    distribution = _get_distribution_for_admin(request, pk)
    form = form_class(request.POST, distribution=distribution)
    if not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()))
    elif not distribution_status_change(
        distribution=distribution,
        from_status=form.from_status,
        to_status=form.to_status,
        changed_by=request.user,
    ):
        messages.error(
            request, _("Le statut de cette distribution vient de changer : vérifiez-le.")
        )
    else:
        messages.success(request, success % {"distribution": distribution})
        for warning in form.warnings():
            messages.warning(request, warning)
    return redirect("distribution_list", request.market.slug)


@post_only("distribution_list")
@admin_view
def distribution_close(request, pk):
    success = _("Commandes closes pour la distribution « %(distribution)s ».")
    return _change_status(request, pk, DistributionCloseForm, success)


@post_only("distribution_list")
@admin_view
def distribution_reopen(request, pk):
    success = _("Commandes rouvertes pour la distribution « %(distribution)s ».")
    return _change_status(request, pk, DistributionReopenForm, success)


@admin_view
def distribution_orders(request, distribution_id):
    distribution = _get_distribution_for_admin(request, distribution_id)
    orders = distribution.orders.select_related("membership__user").order_by("number")
    return render(
        request,
        "orders/manage/distribution_orders.html",
        {"distribution": distribution, "orders": orders},
    )
