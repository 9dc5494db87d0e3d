"""The SPARQL endpoint and the pages people read: the SPARQL 1.1 Protocol apart from HTTP (:mod:`.protocol`), the
store behind it and its pool of time- and memory-bounded query workers (:mod:`.endpoint`, :mod:`.pool`,
:mod:`.worker`), the routes (:mod:`.app`, :mod:`.pages`), the server (:mod:`.server`) and the pages
(:mod:`.site`)."""
