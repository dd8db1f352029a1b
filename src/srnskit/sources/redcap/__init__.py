"""REDCap: a project made from srnskit's data dictionary, read into the cohort format (issue 20).

``dictionary`` builds and reads data dictionaries (REDCap's 18-column CSV, the API's
metadata); ``reader`` turns a REDCap export (CSV, raw or labels) into ``SourceRows`` with each
row's record and instance (``records`` reshapes its rows, ``cells`` reads its values);
``api`` talks to a REDCap server (records, metadata, repeating instruments); ``mapping``
names every column of the format in REDCap (``sources/mappings/redcap.toml``). The exporter
(REDCap's import format) lives in ``srnskit.outputs.exports.redcap``; the commands in
``srnskit.cli.redcap``.
"""

from srnskit.sources.redcap.api import RedcapApi, read_token, shown_url, token_file_warning
from srnskit.sources.redcap.dictionary import (
    DICTIONARY_COLUMNS,
    Dictionary,
    Field,
    build_dictionary,
    dictionary_from_metadata,
    read_dictionary,
)
from srnskit.sources.redcap.mapping import Binding, RedcapMapping, redcap_mapping
from srnskit.sources.redcap.reader import read_export, read_export_file

__all__ = [
    "DICTIONARY_COLUMNS",
    "Binding",
    "Dictionary",
    "Field",
    "RedcapApi",
    "RedcapMapping",
    "build_dictionary",
    "dictionary_from_metadata",
    "read_dictionary",
    "read_export",
    "read_export_file",
    "read_token",
    "redcap_mapping",
    "shown_url",
    "token_file_warning",
]
