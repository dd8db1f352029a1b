"""FHIR R4 as a source (issue 20): a Bundle or a Bulk Data folder of NDJSON files → rows of the
cohort format, each with its origin (``FHIR Observation 'obs-7'``), and the records not mapped.

    found = read_fhir(Path("bundle.json"))                 # FhirRows
    write_imported(found.rows, out, today=today)           # cohort.imported: validate, write

``read`` orchestrates; ``resources`` reads and validates (fhir.resources R4B); ``patients``,
``observations``, ``medications`` and ``events`` map one kind of resource each; ``mapping``
types ``mappings/fhir.toml``; the clinical codes come from ``srnskit.sources.codes``.
"""

from srnskit.sources.fhir.read import FhirRows, read_fhir

__all__ = ["FhirRows", "read_fhir"]
