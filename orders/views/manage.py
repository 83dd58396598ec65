"""« Gestion »: the market admin's pages for producers and products.

Nothing is ever deleted: orders point at producers and products, so an admin
deactivates them instead.
"""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.access import admin_view

from ..forms import ProducerForm, ProductForm
from ..models import Producer, Product

PRODUCER_PARAM = "producteur"


def _get_producer_for_admin(request, pk) -> Producer:
    return get_object_or_404(Producer, pk=pk, market=request.market)


def _get_product_for_admin(request, pk) -> Product:
    return get_object_or_404(
        Product.objects.select_related("producer"), pk=pk, market=request.market
    )


def _chosen_producer(request, producers) -> Producer | None:
    """The producer named in the query string, if it is one of this market's."""
    wanted = request.GET.get(PRODUCER_PARAM, "")
    return next((p for p in producers if str(p.pk) == wanted), None)


def _form_data(request):
    return request.POST if request.method == "POST" else None


@admin_view
def producer_list(request):
    producers = Producer.objects.filter(market=request.market).annotate(
        product_count=Count("products")
    )
    return render(request, "orders/manage/producer_list.html", {"producers": producers})


def _producer_form(request, producer, success: str):
    form = ProducerForm(_form_data(request), instance=producer, market=request.market)
    if form.is_bound and form.is_valid() and form.save_if_unique():
        messages.success(request, success % {"name": form.instance.name})
        return redirect("producer_list", request.market.slug)
    status = 400 if form.is_bound else 200
    context = {"form": form, "producer": producer}
    return render(request, "orders/manage/producer_form.html", context, status=status)


@admin_view
def producer_create(request):
    return _producer_form(request, Producer(), _("Producteur « %(name)s » ajouté."))


@admin_view
def producer_edit(request, pk):
    producer = _get_producer_for_admin(request, pk)
    return _producer_form(request, producer, _("Producteur « %(name)s » enregistré."))


@admin_view
def product_list(request):
    producers = list(Producer.objects.filter(market=request.market))
    chosen = _chosen_producer(request, producers)
    products = Product.objects.filter(market=request.market).select_related("producer")
    if chosen:
        products = products.filter(producer=chosen)
    context = {"products": products, "producers": producers, "chosen": chosen}
    return render(request, "orders/manage/product_list.html", context)


def _product_form(request, product, success: str, initial=None):
    form = ProductForm(
        _form_data(request), instance=product, initial=initial, market=request.market
    )
    if form.is_bound and form.is_valid():
        product = form.save()
        messages.success(request, success % {"name": product.name})
        return redirect("product_list", request.market.slug)
    status = 400 if form.is_bound else 200
    context = {"form": form, "product": product}
    return render(request, "orders/manage/product_form.html", context, status=status)


@admin_view
def product_create(request):
    # « Ajouter un produit » from a producer's list comes with that producer chosen.
    chosen = _chosen_producer(request, Producer.objects.filter(market=request.market))
    initial = {"producer": chosen} if chosen else None
    return _product_form(request, Product(), _("Produit « %(name)s » ajouté."), initial)


@admin_view
def product_edit(request, pk):
    product = _get_product_for_admin(request, pk)
    return _product_form(request, product, _("Produit « %(name)s » enregistré."))
