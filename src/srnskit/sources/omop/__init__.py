"""The OMOP CDM v5.4 importer (issue 20): ``read_omop`` maps an OMOP database (a DuckDB file, a
PostgreSQL database, or a folder of Parquet files, read through Ibis on DuckDB or Spark) to the
format's rows, looking every code up in the database's own concept tables and the shared code
list. The exporter is ``srnskit.outputs.exports.omop``; docs/interchange.md tells what maps to
what."""

from srnskit.sources.omop.database import OmopDatabase, open_omop
from srnskit.sources.omop.read import read_omop
from srnskit.sources.omop.rows import ArrowRows

__all__ = ["ArrowRows", "OmopDatabase", "open_omop", "read_omop"]
