"""The form that takes a bank statement file, and reads it."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..bank_transfer_forms import IdListField
from ..models import BankCsvLayout, SetAsideReason, StatementUpload
from . import CsvLayout, CsvLayoutNeeded, ParsedStatement, StatementError, statement_parse
from .store import account_check

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class StatementUploadForm(forms.Form):
    """Reads the file (`statement_parse`) and refuses one of another account than ``market``'s."""

    file = forms.FileField(
        label=gettext_lazy("Relevé bancaire"),
        help_text=gettext_lazy(
            "Le fichier exporté par la banque : CAMT.053 (XML), OFX, CFONB 120 ou CSV, "
            "10 Mo au plus."
        ),
    )

    def __init__(self, *args, market, **kwargs):
        super().__init__(*args, **kwargs)
        self.market = market

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("Ce fichier dépasse 10 Mo : ce n'est pas un relevé."))
        self.data_bytes = upload.read()
        self.layout_needed: CsvLayoutNeeded | None = None
        try:
            self.parsed: ParsedStatement = statement_read(self.market, self.data_bytes)
            account_check(self.market, self.parsed)
        except CsvLayoutNeeded as needed:  # the columns are asked for next (`ColumnsForm`)
            self.layout_needed = needed
            return upload
        except StatementError as error:
            raise forms.ValidationError(str(error)) from None
        _check_lines(self.parsed)
        return upload


def _check_lines(parsed: ParsedStatement) -> None:
    if not parsed.lines:
        raise forms.ValidationError(_("Ce relevé ne contient aucune opération."))


def saved_layout(market) -> CsvLayout | None:
    """The CSV columns the market's treasurer said last time, if any."""
    saved = BankCsvLayout.objects.filter(market=market).first()
    if saved is None:
        return None
    return CsvLayout(
        name="custom",
        encoding=saved.encoding,
        delimiter=saved.delimiter,
        date_column=saved.date_column,
        label_columns=(saved.label_column,),
        amount_column=saved.amount_column,
        debit_column=saved.debit_column,
        credit_column=saved.credit_column,
        date_format=saved.date_format,
    )


def layout_save(market, layout: CsvLayout, by) -> None:
    """Keep ``layout`` as the market's CSV columns (`saved_layout` reads them)."""
    BankCsvLayout.objects.update_or_create(
        market=market,
        defaults={
            "encoding": layout.encoding,
            "delimiter": layout.delimiter,
            "date_column": layout.date_column,
            "label_column": layout.label_columns[0],
            "amount_column": layout.amount_column,
            "debit_column": layout.debit_column,
            "credit_column": layout.credit_column,
            "date_format": layout.date_format,
            "updated_by": by,
        },
    )


def statement_read(market, data: bytes) -> ParsedStatement:
    """The file read as its format, a CSV by a known bank's layout, else by
    the columns the market said last time; `CsvLayoutNeeded` when none fits."""
    try:
        return statement_parse(data)
    except CsvLayoutNeeded as needed:
        layout = saved_layout(market)
        if layout is None or not set(layout.columns()) <= set(needed.header):
            raise
        return statement_parse(data, layout=layout)


class LineSelectionForm(forms.Form):
    """The bank lines whose sure matches are confirmed, or a line's proposed payments."""

    lines = IdListField(required=False)
    payments = IdListField(required=False)


DATE_FORMATS = [
    ("%d/%m/%Y", "31/12/2026"),
    ("%d/%m/%y", "31/12/26"),
    ("%d-%m-%Y", "31-12-2026"),
    ("%Y-%m-%d", "2026-12-31"),
]


class ColumnsForm(forms.Form):
    """Which column of a CSV file is which, the first time the market's bank
    layout is met; the file is then read with them (``parsed``)."""

    date_column = forms.ChoiceField(label=gettext_lazy("Date de l'opération"))
    label_column = forms.ChoiceField(label=gettext_lazy("Libellé"))
    amount_column = forms.ChoiceField(
        label=gettext_lazy("Montant (une colonne, négatif pour un débit)"), required=False
    )
    debit_column = forms.ChoiceField(label=gettext_lazy("ou : colonne des débits"), required=False)
    credit_column = forms.ChoiceField(label=gettext_lazy("et colonne des crédits"), required=False)
    date_format = forms.ChoiceField(
        label=gettext_lazy("Les dates s'écrivent"), choices=DATE_FORMATS
    )

    def __init__(self, *args, upload: StatementUpload, **kwargs):
        super().__init__(*args, **kwargs)
        self.upload = upload
        columns = [(name, name) for name in upload.header if name]
        for name in ("date_column", "label_column"):
            self.fields[name].choices = [("", "—"), *columns]
        for name in ("amount_column", "debit_column", "credit_column"):
            self.fields[name].choices = [("", "—"), *columns]

    def clean(self):
        data = super().clean()
        one, both = (
            data.get("amount_column"),
            data.get("debit_column") and data.get("credit_column"),
        )
        if bool(one) == bool(both):
            raise forms.ValidationError(
                _(
                    "Choisissez soit la colonne du montant, "
                    "soit les colonnes des débits et des crédits."
                )
            )
        if self.errors:
            return data
        self.layout = self._layout(data)
        try:
            self.parsed = statement_parse(bytes(self.upload.data), layout=self.layout)
            account_check(self.upload.market, self.parsed)
        except StatementError as error:
            raise forms.ValidationError(str(error)) from None
        _check_lines(self.parsed)
        return data

    def _layout(self, data) -> CsvLayout:
        return CsvLayout(
            name="custom",
            encoding=self.upload.encoding,
            delimiter=self.upload.delimiter,
            date_column=data["date_column"],
            label_columns=(data["label_column"],),
            amount_column=data.get("amount_column", ""),
            debit_column=data.get("debit_column", "") if not data.get("amount_column") else "",
            credit_column=data.get("credit_column", "") if not data.get("amount_column") else "",
            date_format=data["date_format"],
        )


class AsideForm(forms.Form):
    """Why a bank line pays no client's payment (bank fees, a cheque deposit…)."""

    reason = forms.ChoiceField(label=gettext_lazy("Raison"), choices=SetAsideReason.choices)
    note = forms.CharField(label=gettext_lazy("Précision"), max_length=200, required=False)


class TakeBackForm(forms.Form):
    """Why a line set aside is taken back (its deposit, if any, is reversed with it)."""

    reason = forms.CharField(label=gettext_lazy("Motif"), max_length=200)
