#!/usr/bin/env python3
"""The baselines of the benchmark: what users would otherwise write or run, on the same records.

    python benchmarks/baselines.py rdflib CORPUS OUT.nt        # parse YAML, Graph.add, serialize (timed whole)
    python benchmarks/baselines.py export CORPUS OUT_DIR       # records as JSON plus an RML mapping for Morph-KGC
    MORPH_VENV/bin/python -m morph_kgc OUT_DIR/config.ini      # Morph-KGC (in its own virtual environment)

Both build the core of the graph the converter writes: each figure (types, identifier, title, caption, its
article), its mentions (type, word, match source, the entity) and the entities (type, identifier), with the same
IRIs. They skip what only the converter does (identifier validation, sentinels, look-alike letters, merging,
taxa, VoID), so they do less work than the converter, not more. The ``export`` step reads the records with the
converter's own reader and is not timed: it only puts the same records in the form Morph-KGC reads.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import yaml

SCHEMA = "https://schema.org/"
PFOCR = "https://pfocr.wikipathways.org/vocab#"
FIGURES = "https://pfocr.wikipathways.org/figures/"
IDORG = "https://identifiers.org/"
KINDS = {"genes": ("Gene", "GeneMention"), "chemicals": ("ChemicalSubstance", "ChemicalMention"),
         "diseases": ("MedicalCondition", "DiseaseMention")}


def pages(corpus: str) -> list[Path]:
    return sorted(Path(corpus, "_figures").glob("*.md"))


def front_matter(path: Path) -> dict | None:
    text = path.read_text(encoding="utf-8")
    parts = text.split("\n---", 1)
    if not text.startswith("---") or len(parts) < 2:
        return None
    try:
        value = yaml.load(parts[0][3:], Loader=yaml.CSafeLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return None
    return value if isinstance(value, dict) else None


def mentions(corpus: str, figid: str, fm: dict) -> list[tuple[str, str, str, str]]:
    """(kind, word, source, entity IRI) of the record, from the front matter or the companion TSVs."""
    out = []
    for kind in KINDS:
        rows = fm.get(kind)
        tsv = Path(corpus, "_data", f"{figid}-{kind}.tsv")
        if not isinstance(rows, list) and tsv.is_file():
            with open(tsv, encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh, delimiter="\t"))
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict):
                continue
            local = str(row.get("entrez") or row.get("ncbigene_id") or row.get("identifier") or row.get("id") or "")
            if not local or local in ("NA", ".na.character"):
                continue
            prefix = "ncbigene" if kind == "genes" else ("mesh" if not local.isdigit() else "chebi")
            out.append((kind, str(row.get("word", "")), str(row.get("source", "")), f"{IDORG}{prefix}/{local}"))
    return out


def rdflib_pipeline(corpus: str, out: str) -> dict:
    import rdflib
    from rdflib.namespace import RDF

    s, p = rdflib.Namespace(SCHEMA), rdflib.Namespace(PFOCR)
    graph = rdflib.Graph()
    records = 0
    for page in pages(corpus):
        fm = front_matter(page)
        records += 1
        if fm is None or not fm.get("figid"):
            continue
        figid = str(fm["figid"])
        fig = rdflib.URIRef(f"{FIGURES}{figid}.html")
        graph.add((fig, RDF.type, s.ImageObject))
        graph.add((fig, RDF.type, s.Dataset))
        graph.add((fig, s.identifier, rdflib.Literal(figid)))
        for field, prop in (("figtitle", s.name), ("caption", s.caption)):
            if fm.get(field):
                graph.add((fig, prop, rdflib.Literal(str(fm[field]))))
        if fm.get("pmcid"):
            article = rdflib.URIRef(f"{IDORG}pmc/{fm['pmcid']}")
            graph.add((fig, s.isPartOf, article))
            graph.add((article, RDF.type, s.ScholarlyArticle))
            if fm.get("papertitle"):
                graph.add((article, s.name, rdflib.Literal(str(fm["papertitle"]))))
        for n, (kind, word, source, entity) in enumerate(mentions(corpus, figid, fm)):
            node = rdflib.URIRef(f"{FIGURES}{figid}.html#mention-{n}")
            cls, mention_cls = KINDS[kind]
            graph.add((fig, p.hasMention, node))
            graph.add((fig, s.mentions, rdflib.URIRef(entity)))
            graph.add((node, RDF.type, p.Mention))
            graph.add((node, RDF.type, p[mention_cls]))
            graph.add((node, p.word, rdflib.Literal(word)))
            graph.add((node, p.source, rdflib.Literal(source)))
            graph.add((node, s.about, rdflib.URIRef(entity)))
            graph.add((rdflib.URIRef(entity), RDF.type, s[cls]))
    graph.serialize(out, format="nt", encoding="utf-8")
    return {"records_read": records, "triples": len(graph)}


MAPPING = """@prefix rr: <http://www.w3.org/ns/r2rml#> .
@prefix rml: <http://semweb.mmlab.be/ns/rml#> .
@prefix ql: <http://semweb.mmlab.be/ns/ql#> .
@prefix schema: <https://schema.org/> .
@prefix pfocr: <https://pfocr.wikipathways.org/vocab#> .

<#Figures> rml:logicalSource [ rml:source "DATA"; rml:referenceFormulation ql:JSONPath; rml:iterator "$.figures[*]" ];
  rr:subjectMap [ rml:reference "iri"; rr:termType rr:IRI; rr:class schema:ImageObject, schema:Dataset ];
  rr:predicateObjectMap [ rr:predicate schema:identifier; rr:objectMap [ rml:reference "figid" ] ],
    [ rr:predicate schema:name; rr:objectMap [ rml:reference "title" ] ],
    [ rr:predicate schema:caption; rr:objectMap [ rml:reference "caption" ] ],
    [ rr:predicate schema:isPartOf; rr:objectMap [ rml:reference "article"; rr:termType rr:IRI ] ].

<#Articles> rml:logicalSource [ rml:source "DATA"; rml:referenceFormulation ql:JSONPath; rml:iterator "$.figures[*]" ];
  rr:subjectMap [ rml:reference "article"; rr:termType rr:IRI; rr:class schema:ScholarlyArticle ];
  rr:predicateObjectMap [ rr:predicate schema:name; rr:objectMap [ rml:reference "papertitle" ] ].

<#Mentions> rml:logicalSource [ rml:source "DATA"; rml:referenceFormulation ql:JSONPath; rml:iterator "$.mentions[*]" ];
  rr:subjectMap [ rml:reference "iri"; rr:termType rr:IRI; rr:class pfocr:Mention ];
  rr:predicateObjectMap [ rr:predicate <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>;
      rr:objectMap [ rml:reference "mention_class"; rr:termType rr:IRI ] ],
    [ rr:predicate pfocr:word; rr:objectMap [ rml:reference "word" ] ],
    [ rr:predicate pfocr:source; rr:objectMap [ rml:reference "source" ] ],
    [ rr:predicate schema:about; rr:objectMap [ rml:reference "entity"; rr:termType rr:IRI ] ].

<#Links> rml:logicalSource [ rml:source "DATA"; rml:referenceFormulation ql:JSONPath; rml:iterator "$.mentions[*]" ];
  rr:subjectMap [ rml:reference "figure"; rr:termType rr:IRI ];
  rr:predicateObjectMap [ rr:predicate pfocr:hasMention; rr:objectMap [ rml:reference "iri"; rr:termType rr:IRI ] ],
    [ rr:predicate schema:mentions; rr:objectMap [ rml:reference "entity"; rr:termType rr:IRI ] ].

<#Entities> rml:logicalSource [ rml:source "DATA"; rml:referenceFormulation ql:JSONPath; rml:iterator "$.mentions[*]" ];
  rr:subjectMap [ rml:reference "entity"; rr:termType rr:IRI ];
  rr:predicateObjectMap [ rr:predicate <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>;
      rr:objectMap [ rml:reference "entity_class"; rr:termType rr:IRI ] ].
"""

CONFIG = """[CONFIGURATION]
output_file = OUT
output_format = N-TRIPLES
number_of_processes = 2

[DataSource1]
mappings = MAPPING
"""


def export(corpus: str, folder: str) -> dict:
    """The records as one JSON document, the RML mapping and Morph-KGC's config (the output goes to out.nt)."""
    os.makedirs(folder, exist_ok=True)
    figures, found = [], []
    records = 0
    for page in pages(corpus):
        records += 1
        fm = front_matter(page)
        if fm is None or not fm.get("figid") or not fm.get("pmcid"):
            continue
        figid = str(fm["figid"])
        iri = f"{FIGURES}{figid}.html"
        figures.append({"iri": iri, "figid": figid, "title": str(fm.get("figtitle") or ""),
                        "caption": str(fm.get("caption") or ""), "article": f"{IDORG}pmc/{fm['pmcid']}",
                        "papertitle": str(fm.get("papertitle") or "")})
        for n, (kind, word, source, entity) in enumerate(mentions(corpus, figid, fm)):
            cls, mention_cls = KINDS[kind]
            found.append({"iri": f"{iri}#mention-{n}", "figure": iri, "word": word, "source": source,
                          "entity": entity, "mention_class": PFOCR + mention_cls, "entity_class": SCHEMA + cls})
    data = os.path.join(folder, "records.json")
    with open(data, "w", encoding="utf-8") as fh:
        json.dump({"figures": figures, "mentions": found}, fh)
    with open(os.path.join(folder, "mapping.ttl"), "w", encoding="utf-8") as fh:
        fh.write(MAPPING.replace("DATA", data))
    with open(os.path.join(folder, "config.ini"), "w", encoding="utf-8") as fh:
        fh.write(CONFIG.replace("OUT", os.path.join(folder, "out.nt"))
                 .replace("MAPPING", os.path.join(folder, "mapping.ttl")))
    return {"records_read": records, "figures": len(figures), "mentions": len(found)}


if __name__ == "__main__":
    command, corpus, target = sys.argv[1:4]
    result = rdflib_pipeline(corpus, target) if command == "rdflib" else export(corpus, target)
    print(json.dumps(result))
