"""How to read French banks' CSV exports: a `CsvLayout` per bank, and the presets we know.

A preset names the columns of the bank's header row as the bank writes them;
`statement_parse` picks the first preset whose columns are all in the file's
header row, so the presets with the most distinctive columns come first.
Column names are compared without case, surrounding spaces or accents
(« Libelle » matches « Libellé »), since exports vary on those.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CsvLayout:
    name: str  # a preset's key, or "custom"
    encoding: str  # "utf-8-sig" | "cp1252" ...
    delimiter: str
    date_column: str
    label_columns: tuple[str, ...]
    amount_column: str = ""  # one signed amount; or:
    debit_column: str = ""  # separate Débit / Crédit columns
    credit_column: str = ""
    date_format: str = "%d/%m/%Y"
    value_date_column: str = ""

    def columns(self) -> tuple[str, ...]:
        """Every column this layout reads."""
        named = (
            self.date_column,
            *self.label_columns,
            self.amount_column,
            self.debit_column,
            self.credit_column,
            self.value_date_column,
        )
        return tuple(column for column in named if column)


CSV_PRESETS: dict[str, CsvLayout] = {
    "societe_generale": CsvLayout(
        name="societe_generale",
        encoding="cp1252",
        delimiter=";",
        date_column="Date de l'opération",
        label_columns=("Libellé", "Détail de l'écriture"),
        amount_column="Montant de l'opération",
    ),
    "banque_postale": CsvLayout(
        name="banque_postale",
        encoding="cp1252",
        delimiter=";",
        date_column="Date",
        label_columns=("Libellé",),
        amount_column="Montant(EUROS)",
    ),
    "credit_agricole": CsvLayout(
        name="credit_agricole",
        encoding="cp1252",
        delimiter=";",
        date_column="Date",
        label_columns=("Libellé",),
        debit_column="Débit euros",
        credit_column="Crédit euros",
    ),
    "bnp_paribas": CsvLayout(
        name="bnp_paribas",
        encoding="utf-8-sig",
        delimiter=";",
        date_column="Date operation",
        label_columns=("Libelle operation",),
        amount_column="Montant operation",
    ),
    "credit_mutuel_cic": CsvLayout(
        name="credit_mutuel_cic",
        encoding="cp1252",
        delimiter=";",
        date_column="Date",
        label_columns=("Libellé",),
        debit_column="Débit",
        credit_column="Crédit",
        value_date_column="Date de valeur",
    ),
}
