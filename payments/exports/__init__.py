"""Exports built by a job (`payments.models.Export`): asked for, built, downloaded.

- `services`: asking for an export (one job for a double click), the job's
  frame (`export_build`: claims the row, writes the progress, stores the
  file, records a failure) and the purge of old files;
- `pdf`: PDF files from templates (WeasyPrint), reporting each page laid out;
- `balances`: the « Solde des clients » PDF, laid out in the job;
- `views`: the page that shows the progress, its JSON status, the download.

The Encaissements PDF is built by `distributions` with the same frame. May
import `accounts`, `cagette` and the rest of `payments`.
"""
