"""The files the toolkit writes: its own records (SQLite, in one data folder), and CSV and Excel for colleagues.

- :mod:`enstoolkit.records.paths`: where the toolkit keeps its files (``ENSTOOLKIT_DATA_DIR``);
- :mod:`enstoolkit.records.store`: the one way those SQLite files are opened (versions, migrations, WAL);
- :mod:`enstoolkit.records.erasures`: the record of GDPR erasures made in Encharge;
- :mod:`enstoolkit.records.exports`: CSV and Excel with spreadsheet formula injection neutralised.

Example:
    >>> import polars as pl
    >>> from enstoolkit.records import neutralise
    >>> neutralise(pl.DataFrame({"name": ["=1+1"]})).item()
    "'=1+1"
"""

from .erasures import ErasureLog, read_erasures
from .exports import export_csv, export_excel, neutralise
from .paths import data_dir

__all__ = ["ErasureLog", "data_dir", "export_csv", "export_excel", "neutralise", "read_erasures"]
