"""The look-ups the pages need besides the canned queries: small, each by key, and none reads the precomputed
graphs except to pick the editor's examples. ``{values}`` is filled with escaped terms
(:func:`converter.web.terms._values`)."""

from __future__ import annotations

LOOKUPS = {
    "mentions": """PREFIX schema: <https://schema.org/>
PREFIX pfocr: <https://pfocr.wikipathways.org/vocab#>
SELECT ?kind ?mention ?word ?symbol ?source ?entity ?name ?identifier ?taxon ?taxon_name
WHERE {
  VALUES ?figid { {values} }
  ?figure schema:identifier ?figid ; a schema:ImageObject ; pfocr:hasMention ?mention .
  VALUES ?kind { pfocr:GeneMention pfocr:ChemicalMention pfocr:DiseaseMention }
  ?mention a ?kind .
  OPTIONAL { ?mention pfocr:word ?word }
  OPTIONAL { ?mention pfocr:matchedSymbol ?symbol }
  OPTIONAL { ?mention pfocr:matchSource ?source }
  OPTIONAL {
    ?mention pfocr:entity ?entity .
    OPTIONAL { ?entity schema:name ?name }
    OPTIONAL { ?entity schema:identifier ?identifier }
    OPTIONAL { ?entity schema:taxonomicRange ?taxon . OPTIONAL { ?taxon schema:name ?taxon_name } }
  }
}""",
    # schema:name only: the precomputed graphs hold keys and counts, never names, so a store whose default graph
    # is the union of all graphs gives the same labels
    "labels": """PREFIX schema: <https://schema.org/>
CONSTRUCT { ?iri schema:name ?name }
WHERE { VALUES ?iri { {values} } ?iri schema:name ?name }""",
    "images": """PREFIX schema: <https://schema.org/>
SELECT ?figure ?image WHERE { VALUES ?figure { {values} } ?figure schema:contentUrl ?image }""",
    "alias": """PREFIX schema: <https://schema.org/>
SELECT ?figid WHERE {
  VALUES ?name { {values} }
  { ?figure schema:alternateName ?name } UNION { ?figure schema:identifier ?name }
  ?figure a schema:ImageObject ; schema:identifier ?figid .
} ORDER BY ?figid LIMIT 1""",
    "top-entities": """PREFIX schema: <https://schema.org/>
PREFIX pfocr: <https://pfocr.wikipathways.org/vocab#>
SELECT ?entity ?name ?figures WHERE {
  VALUES ?class { {values} }
  GRAPH <https://pfocr.wikipathways.org/graph/statistics> { ?entity pfocr:rank ?rank ; pfocr:figureCount ?figures }
  ?entity a ?class ; schema:name ?name .
} ORDER BY ?rank LIMIT 1""",
    # a gene for the examples: among the most mentioned, the first that a figure names by its own symbol (a
    # reader recognises it; one found only through an alias such as ADP would puzzle)
    "top-gene": """PREFIX schema: <https://schema.org/>
PREFIX pfocr: <https://pfocr.wikipathways.org/vocab#>
SELECT ?entity ?name ?figures WHERE {
  { SELECT ?entity ?rank ?figures WHERE {
      GRAPH <https://pfocr.wikipathways.org/graph/statistics> { ?entity pfocr:rank ?rank ; pfocr:figureCount ?figures }
      ?entity a schema:Gene .
    } ORDER BY ?rank LIMIT 50 }
  ?entity schema:name ?name .
  FILTER EXISTS { VALUES ?source { {values} } ?mention pfocr:entity ?entity ; pfocr:matchSource ?source }
} ORDER BY ?rank LIMIT 1""",
    # a chemical or disease for the examples: among the most mentioned, the first that shares a figure with a gene
    # (the genes-for-* examples list those genes)
    "top-with-genes": """PREFIX schema: <https://schema.org/>
PREFIX pfocr: <https://pfocr.wikipathways.org/vocab#>
SELECT ?entity ?name ?figures WHERE {
  { SELECT ?entity ?rank ?figures WHERE {
      VALUES ?class { {values} }
      GRAPH <https://pfocr.wikipathways.org/graph/statistics> { ?entity pfocr:rank ?rank ; pfocr:figureCount ?figures }
      ?entity a ?class .
    } ORDER BY ?rank LIMIT 50 }
  ?entity schema:name ?name .
  FILTER EXISTS { ?figure schema:mentions ?entity , ?gene . ?gene a schema:Gene }
} ORDER BY ?rank LIMIT 1""",
    "figure-of": """PREFIX schema: <https://schema.org/>
PREFIX pfocr: <https://pfocr.wikipathways.org/vocab#>
SELECT ?figid ?title ?pmcid ?other WHERE {
  VALUES ?entity { {values} }
  ?figure schema:mentions ?entity ; a schema:ImageObject ; schema:identifier ?figid ; schema:name ?title ;
    schema:isPartOf ?article .
  ?article schema:identifier ?pmcid .
  OPTIONAL { ?figure schema:mentions ?gene . ?gene a schema:Gene ; schema:name ?other . FILTER(?gene != ?entity) }
} ORDER BY ?figid ?other LIMIT 8""",
    "match-source": """PREFIX pfocr: <https://pfocr.wikipathways.org/vocab#>
SELECT ?source WHERE { VALUES ?entity { {values} } ?mention pfocr:entity ?entity ; pfocr:matchSource ?source }
ORDER BY ?source LIMIT 1""",
    "has-class": "ASK { VALUES ?class { {values} } ?thing a ?class }",
}
