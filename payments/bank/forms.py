"""The form that takes a bank statement file, and reads it."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..bank_transfer_forms import IdListField
from . import ParsedStatement, StatementError, statement_parse
from .store import account_check

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class StatementUploadForm(forms.Form):
    """Reads the file (`statement_parse`) and refuses one of another account than ``market``'s."""

    file = forms.FileField(
        label=gettext_lazy("Relevé bancaire"),
        help_text=gettext_lazy(
            "Le fichier exporté par la banque : CAMT.053 (XML), OFX, CFONB 120 ou CSV, "
            "10 Mo au plus."
        ),
    )

    def __init__(self, *args, market, **kwargs):
        super().__init__(*args, **kwargs)
        self.market = market

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("Ce fichier dépasse 10 Mo : ce n'est pas un relevé."))
        self.data_bytes = upload.read()
        try:
            self.parsed: ParsedStatement = statement_parse(self.data_bytes)
            account_check(self.market, self.parsed)
        except StatementError as error:
            raise forms.ValidationError(str(error)) from None
        if not self.parsed.lines:
            raise forms.ValidationError(_("Ce relevé ne contient aucune opération."))
        return upload


class LineSelectionForm(forms.Form):
    """The bank lines whose sure matches are confirmed, or a line's proposed payments."""

    lines = IdListField(required=False)
    payments = IdListField(required=False)
