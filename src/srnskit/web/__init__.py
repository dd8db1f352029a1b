"""The registry on the web (docs/registry.md, "The API"): the JSON API under ``/api/v1``
(``web.api``), over the registry's service (``srnskit.registry``) and srnskit's report
(``srnskit.outputs``). It holds no SQL of patient data and re-implements no rule."""

__all__: list[str] = []
