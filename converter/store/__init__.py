"""The embedded store (Oxigraph): atomic loads and store versions (:mod:`.load`, :mod:`.versions`), the graphs
precomputed at load time (:mod:`.derived`), the canned query library (:mod:`.queries`) and bulk-load chunks for
other stores (:mod:`.chunks`)."""
