"""From the typed model to RDF text: namespaces and terms (:mod:`.vocab`, :mod:`.terms`), format names and media
types (:mod:`.formats`), the mapping of ``docs/mapping.md`` (:mod:`.mapping`), the streaming dump writers
(:mod:`.writers`), the JSON lines (:mod:`.jsonlines`) and the dataset description (:mod:`.void`)."""
