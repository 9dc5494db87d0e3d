#!/usr/bin/env python3
"""Generate a large, deterministic, PFOCR-checkout-shaped corpus for benchmarking the converter.

    python benchmarks/make_corpus.py OUTDIR [-n 20000] [--seed 1] [--shared ../shared/pfocr] [--check]

writes ``OUTDIR/_figures/<figid>.md`` and ``OUTDIR/_data/<figid>-genes|chemicals|diseases.tsv`` plus a manifest,
``OUTDIR/CORPUS.json`` (parameters, counts of every layout and trap, the broken figids).

No full PFOCR release is available, so the records are assembled from the bulk tables of the shared PFOCR data
(``bulk/`` and its ``PROVENANCE.tsv``): figure ids and years (``shiny-25years`` years), titles and figure links
(``phosphosites``), titles, captions and organisms (``pfocr-curation``, ``shiny-screen`` CORD-19), gene hits
(``shiny-adrd`` genes, the old inline columns), chemical hits with MeSH ids (``shiny-terpeneadh``), disease terms
(``shiny-25years`` annotations) and NDEx network ids (``pfocr2ndex``). A figure without hits of its own borrows
the hits of another figure of the same table, so that entity density is realistic; the bulk files are only read,
never copied.

About half the records use the older layout (entity lists inline in the YAML front matter), half the newer one
(entities in companion TSVs with the real headers). The traps listed in ``shared/pfocr/sample/INVENTORY.md`` are
injected at fixed rates (see ``RATES``): ``.na.character`` and ``NA`` sentinels, ``organisms: [NA]``, organisms as
a comma-joined string, ``year: ''``, figlinks without a leading slash, the older sub-format without
``figid_alias``/``redirect_from``/``figtype``, duplicate gene items and exact duplicate TSV rows, Cyrillic and
Greek look-alike letters inside gene words, new-layout records without companion files, invalid identifiers (the
converter warns) and about 0.5% broken records (the converter rejects them).

The output depends only on the bulk tables, ``-n`` and ``--seed``. Figure ids are unique: when ``-n`` exceeds the
number of bulk figure ids, recycled ids get a ``-r<k>`` suffix. The generator writes YAML itself (plain scalars
where safe, quoted otherwise, like the R-written originals) because PyYAML's emitter would dominate the run time;
``--check`` parses every page back with PyYAML and compares it with what was meant to be written.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from yaml.resolver import Resolver

ROOT = Path(__file__).resolve().parent.parent  # the project root
DEFAULT_SHARED = os.path.join("..", "shared", "pfocr")  # relative to the project root
VERSION = 1

# Rates of layouts and traps (fractions of the records they apply to).
RATES = {
    "new_layout": 0.5,  # the rest is the older inline layout
    "old_subformat": 0.15,  # older layout without figid_alias / redirect_from / figtype
    "old_year_empty": 0.10,  # year: ''
    "old_organisms_list": 0.20,  # organisms as a YAML list (else a plain or comma-joined string)
    "comma_organisms": 0.06,  # organisms "Homo sapiens, Mus musculus" as one string
    "figlink_no_slash": 0.05,  # on top of the bulk figlinks that already lack it
    "borrow_genes": 0.90,  # figure without own gene hits borrows another figure's
    "borrow_chemicals": 0.30,
    "borrow_diseases": 0.15,
    "duplicates": 0.10,  # exact duplicate gene items / TSV rows
    "lookalike": 0.03,  # Cyrillic / Greek letters inside a gene word
    "invalid_id": 0.005,  # an identifier that does not match its namespace pattern (a warning)
    "ndex": 0.15,  # an NDEx network UUID
    "new_na_character": 0.40,  # doi, journal_*, publisher_name, keywords = .na.character
    "new_organisms_na": 0.35,  # organisms: [NA]
    "new_no_companions": 0.12,  # newer layout with no companion file at all
    "new_keywords_block": 0.02,  # keywords as a multi-line |- block scalar
    "new_key_order": 0.04,  # organisms_ner after figtype (the second key order seen)
    "doid": 0.30,  # disease rows with a DOID besides the MeSH id
    "broken": 0.005,  # records the converter must reject
}
BROKEN_KINDS = ("missing pmcid", "invalid pmcid", "empty figtitle", "invalid YAML", "unclosed front matter")

LOOKALIKE = {"A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О", "P": "Р",
             "T": "Т", "X": "Х", "a": "а", "c": "с", "e": "е", "o": "о", "p": "р"}  # Cyrillic
LOOKALIKE_GREEK = {"A": "Α", "B": "Β", "E": "Ε", "K": "Κ", "M": "Μ", "P": "Ρ", "T": "Τ", "N": "Ν", "a": "α"}

GENE_SOURCE_TSV = {"hgnc_symbol": "ncbigene_symbol", "hgnc_alias_symbol": "ncbigene_synonym",
                   "hgnc_prev_symbol": "ncbigene_synonym", "bioentities_symbol": "famplex_relations"}
GENE_HEADER = ("organism_id organism_name organism_group word match ncbigene_symbol ncbigene_id source "
               "count_direct count_synonym count_match").split()
CHEMICAL_HEADER = "word mesh match name chebi".split()
DISEASE_HEADER = "word mesh match name doid".split()

# A few MeSH -> ChEBI pairs for common metabolites of the chemical table (other rows get NA, as most real rows do).
CHEBI = {"D005947": ("D-glucopyranose", "4167"), "D002784": ("cholesterol", "16113"),
         "D013185": ("squalene", "15440"), "D000255": ("ATP", "15422"), "D005978": ("glutathione", "16856"),
         "D000105": ("acetyl-CoA", "15351"), "D000431": ("ethanol", "16236"), "D000079": ("acetaldehyde", "15343"),
         "D005632": ("fructose", "28757"), "D018698": ("glutamic acid", "18237"),
         "D010649": ("phenylalanine", "28044"), "D014443": ("tyrosine", "18186"), "D012694": ("serine", "17115"),
         "D003545": ("cysteine", "15356"), "D014364": ("tryptophan", "27897"), "D000409": ("alanine", "16449"),
         "D005990": ("glycerol", "17754")}
# Disease terms of the annotation table -> (MeSH id, DOID or None); unknown terms get NA / empty identifiers.
DISEASES = {
    "Cancer": ("D009369", "162"), "Cholangiocarcinoma": ("D018281", "4947"), "Lung cancer": ("D008175", "1324"),
    "Urinary bladder cancer": ("D001749", "11054"), "Breast cancer": ("D001943", "1612"),
    "Rheumatoid arthritis": ("D001172", "7148"), "Epilepsy": ("D004827", "1826"), "Melanoma": ("D008545", "1909"),
    "Ovarian cancer": ("D010051", "2394"), "Alopecia areata": ("D000506", None),
    "Fanconi anemia": ("D005199", None), "Noonan syndrome": ("D009634", None),
    "Prostate cancer": ("D011471", "10283"), "Diabetes mellitus": ("D003920", "9351"),
    "Juvenile rheumatoid arthritis": ("D001171", None), "Aortic aneurysm": ("D001014", None),
    "Crohn's disease": ("D003424", "8778"), "Alzheimer's disease": ("D000544", "10652"),
    "Parkinson's disease": ("D010300", "14330"), "Obesity": ("D009765", "9970"),
    "Amyloidosis": ("D000686", None), "Systemic lupus erythematosus": ("D008180", "9074"),
    "Cardiomyopathy": ("D009202", None),
}
JOURNALS = [  # (journal_title, journal_nlm_ta, publisher_name, DOI prefix and infix)
    ("Frontiers in Immunology", "Front Immunol", "Frontiers Media S.A.", "10.3389/fimmu"),
    ("Frontiers in Pharmacology", "Front Pharmacol", "Frontiers Media S.A.", "10.3389/fphar"),
    ("International Journal of Molecular Sciences", "Int J Mol Sci", "MDPI", "10.3390/ijms"),
    ("Cells", "Cells", "MDPI", "10.3390/cells"),
    ("PLoS ONE", "PLoS One", "Public Library of Science", "10.1371/journal.pone"),
    ("Scientific Reports", "Sci Rep", "Nature Publishing Group UK", "10.1038/s41598"),
    ("Cell Death & Disease", "Cell Death Dis", "Nature Publishing Group UK", "10.1038/s41419"),
    ("eLife", "eLife", "eLife Sciences Publications, Ltd", "10.7554/eLife"),
    ("bioRxiv", "bioRxiv", "Cold Spring Harbor Laboratory", "10.1101/biorxiv"),
]
SURNAMES = "Smith Chen Garcia Müller Rossi Kowalski Tanaka Nguyen Okafor Silva Johansson Kim Novák Dubois".split()
GIVEN = "Anna Wei Carlos Lena Marco Piotr Yuki Linh Chidi Ana Erik Min-jun Jana Claire".split()
KEYWORDS = ("signal transduction | metabolism | inflammation | apoptosis | autophagy | oxidative stress | "
            "cancer | immunity | insulin resistance | ferroptosis | neurodegeneration | fibrosis | "
            "mitochondria | gene regulation | drug resistance | microbiome | lipid metabolism").split(" | ")
FIGTYPES = (("Figure", 0.94), ("Scheme", 0.04), ("Supplemental figure", 0.02))


# --- YAML text, written by hand ------------------------------------------------------------------------------------
_NONPRINT = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_PLAIN_BREAKERS = re.compile(r": |:$| #")
_DQ_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x85": "\\N", "\u2028": "\\L",
               "\u2029": "\\P"}
_IMPLICIT = Resolver.yaml_implicit_resolvers  # first character -> [(tag, regexp)]: bool, null, int, float, ...
WIDTH = 80  # plain scalars are folded at this column, like the R-written pages


def _dq_char(match: re.Match[str]) -> str:
    c = match.group()
    if c in _DQ_ESCAPES:
        return _DQ_ESCAPES[c]
    n = ord(c)
    return f"\\x{n:02X}" if n < 0x100 else (f"\\u{n:04X}" if n < 0x10000 else f"\\U{n:08X}")


_DQ_NEEDS = re.compile('[\\\\"\n\r\t\x85\u2028\u2029]|' + _NONPRINT.pattern)


def _plain_ok(s: str) -> bool:
    if not s or s != s.strip() or s[0] in _INDICATORS or _PLAIN_BREAKERS.search(s):
        return False
    return not any(regexp.match(s) for _, regexp in _IMPLICIT.get(s[0], ()))


def _fold(s: str, column: int, indent: str) -> str:
    """A long plain or single-quoted scalar broken at single spaces onto lines indented by ``indent``.

    YAML reads each such line break back as one space; breaks never go next to another space or before '#'.
    """
    if column + len(s) <= WIDTH:
        return s
    tokens = s.split(" ")
    lines = [tokens[0]]
    col = column + len(tokens[0])
    for prev, tok in pairwise(tokens):
        if prev and tok and tok[0] != "#" and col + 1 + len(tok) > WIDTH:
            lines.append(tok)
            col = len(indent) + len(tok)
        else:
            lines[-1] += " " + tok
            col += 1 + len(tok)
    return ("\n" + indent).join(lines)


@lru_cache(maxsize=1 << 17)  # gene fields repeat a lot
def scalar(value: object, column: int = 0, indent: str | None = None) -> str:
    """One YAML scalar: plain where that reads back as the same string, else single- or double-quoted.

    Given the column it starts at and the indentation of continuation lines, a long scalar is folded.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    s = str(value)
    special = _NONPRINT.search(s) or _BREAKS.search(s) or "\t" in s
    if not special and _plain_ok(s):
        return s if indent is None else _fold(s, column, indent)
    if not special:
        quoted = "'" + s.replace("'", "''") + "'"
        return quoted if indent is None else _fold(quoted, column, indent)
    return '"' + _DQ_NEEDS.sub(_dq_char, s) + '"'


def _block(s: str, indent: str) -> str | None:
    """A ``|-`` literal block for a multi-line string, when it reads back unchanged."""
    lines = s.split("\n")
    if (_NONPRINT.search(s) or re.search("[\r\x85\u2028\u2029\t]", s) or not lines[0].strip()
            or lines[0][0] == " " or s.endswith("\n") or any(not line.strip() for line in lines)):
        return None
    return "|-\n" + "".join(f"{indent}  {line}\n" for line in lines).rstrip("\n")


def emit(mapping: dict, indent: str = "") -> list[str]:
    """Block-style YAML lines for a mapping, with indentless sequences like R's yaml and PyYAML write."""
    out: list[str] = []
    for key, value in mapping.items():
        k = f"{indent}{scalar(key)}:"
        if isinstance(value, dict):
            out.append(k)
            out.extend(emit(value, indent + "  "))
        elif isinstance(value, list):
            if not value:
                out.append(f"{k} []")
                continue
            out.append(k)
            for item in value:
                if isinstance(item, dict):
                    lines = emit(item, indent + "  ")
                    out.append(f"{indent}- {lines[0][len(indent) + 2:]}")
                    out.extend(lines[1:])
                else:
                    out.append(f"{indent}- {scalar(item, len(indent) + 2, indent + '  ')}")
        elif isinstance(value, str) and "\n" in value and (block := _block(value, indent)):
            out.append(f"{k} {block}")
        else:
            out.append(f"{k} {scalar(value, len(k) + 1, indent + '  ')}")
    return out


def page(front_matter: dict) -> str:
    return "---\n" + "\n".join(emit(front_matter)) + "\n---\n"


# --- the bulk tables -----------------------------------------------------------------------------------------------
def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    header = lines[0].split("\t")
    return header, [line.split("\t") for line in lines[1:] if line]


def _figid(value: str) -> str:
    return value[:-4] if value.endswith(".jpg") else value


@dataclass
class Bulk:
    years: dict[str, str] = field(default_factory=dict)
    meta: dict[str, dict[str, str]] = field(default_factory=dict)
    genes: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    chemicals: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    diseases: dict[str, list[str]] = field(default_factory=dict)
    ndex: list[str] = field(default_factory=list)
    figids: list[str] = field(default_factory=list)  # every figure id of every table, sorted
    titles: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    papertitles: list[str] = field(default_factory=list)


def load_bulk(shared: Path) -> Bulk:
    bulk_dir = shared / "bulk"
    if not (bulk_dir / "PROVENANCE.tsv").is_file():
        sys.exit(f"make_corpus: {bulk_dir} has no PROVENANCE.tsv; pass --shared PATH/TO/shared/pfocr")
    b = Bulk()

    def table(name: str) -> tuple[list[str], list[list[str]]]:
        return _rows(bulk_dir / name)

    _, rows = table("pathway-figure-ocr__shiny-25years_pfocr_years.converted.tsv")
    b.years = {_figid(r[0]): r[1] for r in rows}
    header, rows = table("phosphosites__pfocr.converted.tsv")
    for r in rows:
        d = dict(zip(header, r))
        b.meta.setdefault(_figid(d["figid"]), {}).update(
            {k: d[k] for k in ("figtitle", "figlink", "filename") if d.get(k)})
    for name in ("curation__pfocr_curated.converted.tsv",
                 "pathway-figure-ocr__shiny-screen_cord19_pfocr.converted.tsv"):
        header, rows = table(name)
        for r in rows:
            d = dict(zip(header, r))
            keep = ("number", "figtitle", "papertitle", "caption", "organism", "reftext", "figlink", "year",
                    "pathway_score", "pmc_ranked_result_index")
            b.meta.setdefault(_figid(d["figid"]), {}).update({k: d[k] for k in keep if d.get(k)})
    _, rows = table("pathway-figure-ocr__shiny-adrd_pfocr_adrd_genes.converted.tsv")
    for r in rows:  # figid pmcid word symbol source hgnc_symbol entrez
        b.genes.setdefault(_figid(r[0]), []).append(tuple(r[2:7]))
    _, rows = table("pathway-figure-ocr__shiny-terpeneadh_pfocr_terpeneadh_chems.converted.tsv")
    for r in rows:  # figid pmcid word symbol source mesh_symbol mesh_id
        b.chemicals.setdefault(_figid(r[0]), []).append(tuple(r[2:7]))
    _, rows = table("pathway-figure-ocr__shiny-25years_pfocr_annots.converted.tsv")
    for r in rows:
        b.diseases.setdefault(_figid(r[0]), []).append(r[1])
    _, rows = table("pfocr2ndex__figid_to_ndex_network_id.tsv")
    b.ndex = sorted({r[1] for r in rows})
    ndex_figids = {_figid(r[0]) for r in rows}

    ids = set(b.years) | set(b.meta) | set(b.genes) | set(b.chemicals) | set(b.diseases) | ndex_figids
    b.figids = sorted(f for f in ids if "__" in f and _safe_figid(f))
    b.titles = sorted({m["figtitle"] for m in b.meta.values() if m.get("figtitle")})
    b.captions = sorted({m["caption"] for m in b.meta.values() if m.get("caption")})
    b.papertitles = sorted({m["papertitle"] for m in b.meta.values() if m.get("papertitle")})
    return b


_SAFE_FIGID = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]+")  # printable ASCII without '/', spaces or delimiters


def _safe_figid(figid: str) -> bool:
    """A figid is an IRI path segment and a file name; every bulk figure id already is one."""
    return _SAFE_FIGID.fullmatch(figid) is not None


# --- one record ----------------------------------------------------------------------------------------------------
@dataclass
class Record:
    figid: str
    layout: str
    front_matter: dict
    companions: dict[str, list[list[str]]]
    text: str = ""  # the page as written (differs from the front matter only for broken records)
    traps: list[str] = field(default_factory=list)
    broken: str | None = None


def _tsv_safe(value: str) -> str:
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _lookalike(word: str, rng: random.Random) -> str:
    table = LOOKALIKE if rng.random() < 0.7 else LOOKALIKE_GREEK
    letters = [i for i, c in enumerate(word) if c in table]
    if not letters:
        return word + "α"  # like TNF-α
    chars = list(word)
    for i in rng.sample(letters, k=min(len(letters), rng.randint(1, 3))):
        chars[i] = table[chars[i]]
    return "".join(chars)


def _reftext(rng: random.Random, year: str, journal: str) -> str:
    page = rng.randint(1, 9000)
    return (f"{rng.choice(GIVEN)} {rng.choice('ABCDEFGHJKLMNPRST')}. {rng.choice(SURNAMES)}, et al. {journal}. "
            f"{year or ''};{rng.randint(1, 60)}({rng.randint(1, 24)}):{page}-{page + rng.randint(3, 20)}.")


def make_record(i: int, bulk: Bulk, seed: int, broken: str | None) -> Record:
    rng = random.Random(f"pfocr-corpus:{seed}:{i}")
    pool = bulk.figids
    base = pool[_order(seed, len(pool))[i % len(pool)]]
    cycle = i // len(pool)
    figid = base if cycle == 0 else f"{base}-r{cycle}"
    pmcid, tail = base.split("__", 1)
    meta = bulk.meta.get(base, {})
    traps: list[str] = []
    new = rng.random() < RATES["new_layout"]
    no_companions = new and rng.random() < RATES["new_no_companions"]  # entity lists not written at all

    year = meta.get("year") or bulk.years.get(base) or str(rng.randint(1995, 2021))
    title = meta.get("figtitle") or rng.choice(bulk.titles)
    caption = meta.get("caption") or rng.choice(bulk.captions)
    papertitle = meta.get("papertitle") or rng.choice(bulk.papertitles)
    number = meta.get("number") or f"F{rng.randint(1, 9)}"
    figlink = meta.get("figlink") or f"/pmc/articles/{pmcid}/figure/F{rng.randint(1, 9)}/"
    if not figlink.startswith("/"):
        traps.append("figlink without slash")
    elif rng.random() < RATES["figlink_no_slash"]:
        figlink = figlink.lstrip("/")
        traps.append("figlink without slash")
    journal = rng.choice(JOURNALS)
    reftext = meta.get("reftext") or _reftext(rng, year, journal[1])
    score = float(meta["pathway_score"]) if meta.get("pathway_score") else round(rng.uniform(0.8, 0.999), 7)
    score = round(score, 7)
    ndex = ""
    if rng.random() < RATES["ndex"]:
        ndex = rng.choice(bulk.ndex)
        traps.append("ndex uuid")
    figtype = rng.choices([t for t, _ in FIGTYPES], [w for _, w in FIGTYPES])[0]
    found = re.search(r"\d+[A-Za-z]?", number)
    alias_number = f"F{found.group()}" if found else re.sub(r"\W", "", number) or "F1"

    genes = list(bulk.genes.get(base, []))
    if not genes and rng.random() < RATES["borrow_genes"]:
        genes = list(bulk.genes[rng.choice(_keys(bulk, "genes"))])
    chemicals = list(bulk.chemicals.get(base, []))
    if not chemicals and rng.random() < RATES["borrow_chemicals"]:
        chemicals = list(bulk.chemicals[rng.choice(_keys(bulk, "chemicals"))])
    diseases = list(dict.fromkeys(bulk.diseases.get(base, [])))
    if not diseases and rng.random() < RATES["borrow_diseases"]:
        diseases = list(dict.fromkeys(bulk.diseases[rng.choice(_keys(bulk, "diseases"))]))

    # gene traps: look-alike letters, an invalid id, duplicates (in the inline list or the genes TSV)
    genes = [list(g) for g in genes]  # word symbol source hgnc_symbol entrez
    if genes and not no_companions and rng.random() < RATES["lookalike"]:
        for g in rng.sample(genes, k=min(len(genes), rng.randint(1, 2))):
            g[0] = _lookalike(g[0], rng)
        traps.append("look-alike letters")
    if genes and not no_companions and rng.random() < RATES["invalid_id"]:
        rng.choice(genes)[4] = rng.choice(["12x4", "7157a", "-1", "ENSG00000141510"])
        traps.append("invalid identifier")
    if genes and not no_companions and rng.random() < RATES["duplicates"]:
        for _ in range(rng.randint(1, 5)):
            genes.insert(rng.randrange(len(genes) + 1), list(rng.choice(genes)))
        traps.append("duplicate genes")

    symbols = list(dict.fromkeys(g[3] for g in genes))
    schema_keywords = symbols + list(dict.fromkeys(c[0] for c in chemicals)) + diseases
    schema_jsonld = {
        "@context": "https://schema.org/",
        "@id": f"https://pfocr.wikipathways.org/figures/{figid}.html",
        "@type": "Dataset",
        "description": caption,
        "license": "CC0",
        "name": "CreativeWork",
        "creator": {"@type": "Organization", "name": "WikiPathways"},
        "keywords": schema_keywords,
    }
    companions: dict[str, list[list[str]]] = {}

    if not new:
        fm: dict = {
            "figid": figid, "figlink": figlink, "number": number, "caption": caption, "pmcid": pmcid,
            "papertitle": papertitle, "reftext": reftext,
            "pmc_ranked_result_index": meta.get("pmc_ranked_result_index") or str(rng.randint(1, 90000)),
            "pathway_score": score, "filename": meta.get("filename") or f"{tail}.jpg", "figtitle": title,
            "year": year,
        }
        if rng.random() < RATES["old_year_empty"]:
            fm["year"] = ""
            traps.append("year ''")
        organism = meta.get("organism", "")
        if organism in ("", "NA", "XXX", "REJECT", "Plants", "Microbes", "Yeast"):
            organism = "Homo sapiens" if genes else "NA"
        if "," not in organism and rng.random() < RATES["comma_organisms"]:
            organism = f"{organism}, Mus musculus" if organism != "NA" else "Homo sapiens, Mus musculus"
        if "," in organism:
            traps.append("comma-joined organisms")
        if rng.random() < RATES["old_organisms_list"]:
            fm["organisms"] = [o.strip() for o in organism.split(",")]
        else:
            fm["organisms"] = organism
        fm.update({"ndex": ndex, "annotations": [], "seo": "CreativeWork", "schema-jsonld": schema_jsonld})
        fm["genes"] = [dict(zip(("word", "symbol", "source", "hgnc_symbol", "entrez"), g)) for g in genes]
        fm["chemicals"] = [{"word": c[0], "source": "MESH", "identifier": c[4]} for c in chemicals]
        fm["diseases"] = [{"word": d, "source": "MESH" if d in DISEASES else "",
                           "identifier": DISEASES[d][0] if d in DISEASES else ""} for d in diseases]
        if rng.random() < RATES["old_subformat"]:
            traps.append("old sub-format")
        else:
            fm.update({"figid_alias": f"{pmcid}__{alias_number}", "redirect_from": f"/figures/{pmcid}__{alias_number}",
                       "figtype": figtype})
        if not genes:
            traps.append("genes: []")
    else:
        na = rng.random() < RATES["new_na_character"]
        organisms = ["Homo sapiens"] if genes else ["NA"]
        if rng.random() < RATES["new_organisms_na"]:
            organisms = ["NA"]
        if organisms == ["NA"]:
            traps.append("organisms [NA]")
        keywords = " | ".join(rng.sample(KEYWORDS, k=rng.randint(2, 6)))
        if rng.random() < RATES["new_keywords_block"]:
            parts = keywords.split(" | ")
            keywords = " | ".join(parts[: len(parts) // 2]) + " |\n" + " | ".join(parts[len(parts) // 2:])
            traps.append("keywords block scalar")
        doi = f"{journal[3]}.{year}.{rng.randint(100000, 999999)}"
        fields = {"doi": doi, "journal_title": journal[0], "journal_nlm_ta": journal[1],
                  "publisher_name": journal[2], "keywords": keywords}
        if na:
            fields = {k: ".na.character" for k in fields}
            traps.append(".na.character")
        elif rng.random() < 0.05:
            fields["keywords"] = ""
            fields["publisher_name"] = ""
            traps.append("empty keywords/publisher")
        fm = {"figid": figid, "figtitle": title, "organisms": organisms,
              "organisms_ner": ["Homo sapiens"] if genes else ["NA"], "pmcid": pmcid,
              "filename": meta.get("filename") or f"{tail}.jpg", "figlink": figlink, "number": number,
              "caption": caption, "papertitle": papertitle, "reftext": reftext, "year": year, **fields,
              "automl_pathway": score, "figid_alias": f"{pmcid}__{alias_number}", "figtype": figtype,
              "redirect_from": f"/figures/{pmcid}__{alias_number}", "ndex": ndex, "seo": "CreativeWork",
              "schema-jsonld": schema_jsonld}
        if rng.random() < RATES["new_key_order"]:
            ner = fm.pop("organisms_ner")
            fm = {k: v for k, v in _insert_after(fm, "figtype", "organisms_ner", ner)}
            traps.append("second key order")
        if no_companions:
            traps.append("no companions")
        else:
            companions = _companions(genes, chemicals, diseases, rng, traps)

    record = Record(figid, "tsv" if new else "inline", fm, companions, traps=traps)
    record.text = page(fm)
    if broken:
        record.broken = broken
        record.text = _break(fm, broken)
        record.traps.append(f"broken: {broken}")
    return record


def _insert_after(fm: dict, after: str, key: str, value: object):
    for k, v in fm.items():
        yield k, v
        if k == after:
            yield key, value


def _companions(genes: list[list[str]], chemicals: list[tuple[str, ...]], diseases: list[str],
                rng: random.Random, traps: list[str]) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    if genes:
        sources = Counter(GENE_SOURCE_TSV.get(g[2], "ncbigene_synonym") for g in genes)
        direct, synonym = sources["ncbigene_symbol"], sources["ncbigene_synonym"]
        match = len({g[1] for g in genes})
        out["genes"] = [["9606", "Homo sapiens", "Primates", g[0], g[1], g[3], g[4],
                         GENE_SOURCE_TSV.get(g[2], "ncbigene_synonym"), str(direct),
                         str(synonym) if synonym else "NA", str(match)] for g in genes]
    if chemicals:
        rows = []
        for word, _symbol, _source, mesh_symbol, mesh_id in chemicals:
            name, chebi = CHEBI.get(mesh_id, ("NA", "NA"))
            matched = mesh_symbol if chebi != "NA" else "NA"
            rows.append([word, f"mesh:{mesh_id}", matched, name, f"chebi:{chebi}" if chebi != "NA" else "NA"])
        if rng.random() < RATES["duplicates"]:
            rows.append(list(rng.choice(rows)))
            traps.append("duplicate chemical rows")
        out["chemicals"] = rows
    if diseases:
        rows = []
        for term in diseases:
            mesh, doid = DISEASES.get(term, (None, None))
            with_doid = doid is not None and rng.random() < RATES["doid"]
            rows.append([term, f"mesh:{mesh}" if mesh else "NA", term if with_doid else "NA",
                         term.lower() if with_doid else "NA", f"doid:{doid}" if with_doid else "NA"])
        if rng.random() < RATES["duplicates"]:
            rows.append(list(rng.choice(rows)))
            traps.append("duplicate disease rows")
        out["diseases"] = rows
    return out


def _break(fm: dict, kind: str) -> str:
    if kind == "missing pmcid":
        return page({k: v for k, v in fm.items() if k != "pmcid"})
    if kind == "invalid pmcid":
        return page({**fm, "pmcid": "PMC-" + str(fm["pmcid"])[3:] + "x"})
    if kind == "empty figtitle":
        return page({**fm, "figtitle": ""})
    if kind == "invalid YAML":
        text = page(fm)  # a more-indented line after a plain scalar: "mapping values are not allowed here"
        first = text.index("\n", 4) + 1
        return text[:first] + "  orphan: value\n" + text[first:]
    if kind == "unclosed front matter":
        return page(fm)[: -len("---\n")]
    raise ValueError(kind)


_ORDER_CACHE: dict[tuple[int, int], list[int]] = {}
_KEYS_CACHE: dict[tuple[int, str], list[str]] = {}


def _order(seed: int, size: int) -> list[int]:
    """A seeded permutation of the bulk figure ids: which ids the corpus uses, in which order."""
    key = (seed, size)
    if key not in _ORDER_CACHE:
        order = list(range(size))
        random.Random(f"pfocr-corpus-order:{seed}").shuffle(order)
        _ORDER_CACHE[key] = order
    return _ORDER_CACHE[key]


def _keys(bulk: Bulk, table: str) -> list[str]:
    key = (id(bulk), table)
    if key not in _KEYS_CACHE:
        _KEYS_CACHE[key] = sorted(getattr(bulk, table))
    return _KEYS_CACHE[key]


# --- the corpus ----------------------------------------------------------------------------------------------------
def tsv_text(header: list[str], rows: list[list[str]]) -> str:
    return "\t".join(header) + "\n" + "".join("\t".join(_tsv_safe(c) for c in r) + "\n" for r in rows)


HEADERS = {"genes": GENE_HEADER, "chemicals": CHEMICAL_HEADER, "diseases": DISEASE_HEADER}


def build(outdir: Path, n: int, seed: int, shared: Path, force: bool = False, check: bool = False,
          quiet: bool = False) -> dict:
    """Write the corpus and its manifest; returns the manifest."""
    started = time.perf_counter()
    figures, data = outdir / "_figures", outdir / "_data"
    if figures.is_dir() and any(figures.iterdir()):
        if not force:
            sys.exit(f"make_corpus: {figures} is not empty; pass --force to replace a corpus made by this script")
        if not (outdir / "CORPUS.json").is_file():
            sys.exit(f"make_corpus: {outdir} has no CORPUS.json, so it was not made by this script; not touching it")
        for folder in (figures, data):
            for entry in os.scandir(folder) if folder.is_dir() else ():
                os.unlink(entry.path)
    figures.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    bulk = load_bulk(shared)
    broken_at = set(random.Random(f"pfocr-corpus-broken:{seed}").sample(range(n), k=max(1, round(n * RATES["broken"]))))
    traps: Counter = Counter()
    layouts: Counter = Counter()
    broken: dict[str, str] = {}
    companions = 0
    warned = 0  # converted records with an invalid identifier: each makes at least one warning
    seen: set[str] = set()
    problems = []
    for i in range(n):
        kind = BROKEN_KINDS[len(broken) % len(BROKEN_KINDS)] if i in broken_at else None
        rec = make_record(i, bulk, seed, kind)
        assert rec.figid not in seen and _safe_figid(rec.figid), rec.figid
        seen.add(rec.figid)
        layouts[rec.layout] += 1
        traps.update(rec.traps)
        if rec.broken:
            broken[rec.figid] = rec.broken
        elif "invalid identifier" in rec.traps:
            warned += 1
        with open(figures / f"{rec.figid}.md", "w", encoding="utf-8", newline="\n") as fh:
            fh.write(rec.text)
        for kind_name, rows in rec.companions.items():
            with open(data / f"{rec.figid}-{kind_name}.tsv", "w", encoding="utf-8", newline="\n") as fh:
                fh.write(tsv_text(HEADERS[kind_name], rows))
            companions += 1
        if check and not rec.broken:
            problems.extend(_check(figures / f"{rec.figid}.md", rec.front_matter))
    manifest = {
        "generator": "benchmarks/make_corpus.py",
        "version": VERSION,
        "records": n,
        "seed": seed,
        "layouts": dict(sorted(layouts.items())),
        "companion_files": companions,
        "broken": dict(sorted(broken.items())),
        "records_with_invalid_identifier": warned,
        "traps": dict(sorted(traps.items())),
        "rates": RATES,
        "sources": "bulk tables of shared/pfocr (see its bulk/PROVENANCE.tsv)",
    }
    with open(outdir / "CORPUS.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    if problems:
        for p in problems[:20]:
            print(p, file=sys.stderr)
        sys.exit(f"make_corpus: {len(problems)} pages do not read back as written")
    if not quiet:
        print(f"{n} records ({layouts['inline']} inline, {layouts['tsv']} TSV layout, {len(broken)} broken), "
              f"{companions} companion TSVs in {outdir} ({time.perf_counter() - started:.1f} s)")
    return manifest


def _check(path: Path, expected: dict) -> list[str]:
    import yaml

    text = path.read_text(encoding="utf-8")
    body = text[4: text.rindex("\n---\n") + 1]
    got = yaml.load(body, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if got != expected:
        diff = [k for k in expected if got.get(k) != expected[k]]
        return [f"{path}: differs in {diff}"]
    return []


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir", help="folder to write _figures/, _data/ and CORPUS.json into")
    parser.add_argument("-n", "--records", type=int, default=20000, help="number of figure records (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--shared", default=None,
                        help=f"the shared PFOCR data (default {DEFAULT_SHARED}, relative to the project root)")
    parser.add_argument("--force", action="store_true", help="replace a corpus this script made before")
    parser.add_argument("--check", action="store_true", help="parse every page back with PyYAML and compare")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("-n must be at least 1")
    shared = Path(args.shared) if args.shared else ROOT / DEFAULT_SHARED
    build(Path(args.outdir), args.records, args.seed, shared, force=args.force, check=args.check)


if __name__ == "__main__":
    main()
