"""The confirmation of « valider les paniers payés comme déclaré », read as a form.

Django refuses a POST of more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields (a
guard against floods of fields that we keep as it is, for every page). So
the confirmation page sends its baskets and its payments as one field each,
a list of ids, whatever the size of the distribution; only the cheque
numbers to type take fields of their own (two each), and the page asks for
as many as fit, the rest waiting for the next page (`bulk_plan`).
"""

from django import forms
from django.conf import settings

from cagette.ids import id_from
from cagette.search import clean_search

FIELDS_BESIDE_CHEQUES = 10  # the token, the two lists, and room to spare
MAX_LISTED = 10_000  # ids read from one list, far past any distribution


def cheque_inputs() -> int | None:
    """How many cheques one confirmation page may ask the number of."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return None if limit is None else max((limit - FIELDS_BESIDE_CHEQUES) // 2, 0)


class BulkConfirmForm(forms.Form):
    """The rows the confirmation page listed, and the cheque numbers typed on it.

    Nothing in it can be invalid: anything else in the POST is ignored, and
    ``cleaned_data`` holds ``order_ids``, ``payment_ids`` and ``cheques`` (each
    cheque payment's id to its (number, bank), cut to the columns).
    """

    def clean(self):
        return {
            "order_ids": self._listed_ids("order"),
            "payment_ids": self._listed_ids("payment"),
            "cheques": self._typed_cheques(),
        }

    def _listed_ids(self, name: str) -> list[int]:
        """One field of ids separated by spaces; one field per id (as earlier pages
        sent them) reads the same."""
        words = [word for value in self.data.getlist(name) for word in value.split()]
        return [pk for pk in map(id_from, words[:MAX_LISTED]) if pk is not None]

    def _typed_cheques(self) -> dict[int, tuple[str, str]]:
        cheques = {}
        for name, value in self.data.items():
            prefix, _sep, text = name.partition("-")
            pk = id_from(text)
            if prefix == "cheque" and pk is not None:
                bank = self.data.get(f"bank-{pk}", "")
                cheques[pk] = (clean_search(value, 40), clean_search(bank, 80))
        return cheques
