"""« Valider les paniers payés comme déclaré »: the confirmation page and its POST."""

import time

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import admin_view
from cagette.money import format_euros

from .bulk import bulk_plan, bulk_validate
from .bulk_forms import BulkConfirmForm, cheque_inputs
from .views import get_distribution, to_distribution


def _bulk_summary(done) -> str:
    if not done.ready:
        sentences = [_("Aucun panier n'était prêt à être validé.")]
    else:
        sentences = [_validated_sentence(done)]
    if done.blocked:
        sentences.append(
            ngettext(
                "%(count)d panier attend une décision.",
                "%(count)d paniers attendent une décision.",
                len(done.blocked),
            )
            % {"count": len(done.blocked)}
        )
    if done.later:
        sentences.append(
            ngettext(
                "%(count)d panier reste à valider : vérifiez-le et confirmez à nouveau.",
                "%(count)d paniers restent à valider : vérifiez-les et confirmez à nouveau.",
                len(done.later),
            )
            % {"count": len(done.later)}
        )
    return " ".join(sentences)


def _validated_sentence(done) -> str:
    return ngettext(
        "%(count)d panier validé, %(amount)s encaissés comme déclaré.",
        "%(count)d paniers validés, %(amount)s encaissés comme déclaré.",
        len(done.ready),
    ) % {"count": len(done.ready), "amount": format_euros(done.to_receive)}


# One confirmation validates baskets for at most this long (a web worker is
# stopped after 30 seconds by default); the rest wait for the next one.
BULK_SECONDS = 20


@admin_view
def day_bulk(request, distribution_id):
    distribution = get_distribution(request, distribution_id)
    if request.method == "POST":
        form = BulkConfirmForm(request.POST)
        form.is_valid()  # always: what it does not read is ignored
        done = bulk_validate(
            distribution=distribution,
            validated_by=request.user,
            until=time.monotonic() + BULK_SECONDS,
            **form.cleaned_data,
        )
        level = messages.success if done.ready else messages.warning
        level(request, _bulk_summary(done))
        if done.later:
            return redirect("day_bulk", request.market.slug, distribution.pk)
        return to_distribution(request, distribution.pk)
    plan = bulk_plan(distribution, cheque_inputs=cheque_inputs())
    context = {"distribution": distribution, "plan": plan}
    return render(request, "distributions/day/bulk.html", context)
