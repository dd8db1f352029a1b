"""Sources: where a raw cohort comes from (files, the template, later the registry, REDCap,
FHIR, OMOP). Each hands the cohort layer a ``RawCohort``."""

__all__: list[str] = []
