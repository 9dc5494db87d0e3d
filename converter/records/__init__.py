"""Records in: the page files and companion TSVs of PFOCR figure records (:mod:`.sources`), the fast reader of
their front matter (:mod:`.yaml_subset`), the typed model both layouts are normalised into (:mod:`.model`), and the
identifier patterns ids are checked against (:mod:`.identifiers`). Nothing here knows about RDF."""
