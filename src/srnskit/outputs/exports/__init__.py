"""Exports to the interchange standards (issue 20): ``redcap`` (a REDCap project's data
dictionary and import file), ``fhir`` (an R4 transaction Bundle or Bulk Data NDJSON) and
``omop`` (the OMOP CDM v5.4 tables). Each reads a validated cohort and writes all or nothing;
the codes come from the mapping files in ``srnskit/sources/mappings``."""

__all__: list[str] = []
