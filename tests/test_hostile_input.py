"""Hostile and broken input: every case of docs/reliability.md ("Bad input") in one folder beside two good records.

``pfocr-rdf convert`` runs once over the folder, as a user would run it. Each broken record must be rejected (or
converted with a warning) with a message naming its file, its line where known, the field and the reason; the good
records must be converted; ``report.json``'s counts must add up; every dump must parse; and nothing in the data may
reach a file path, an IRI or the N-Triples unescaped.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from _support import cli_command

GOOD = ["PMC1__good-1", "PMC1__good-2"]
FIGID_CHARACTERS = [" ", "<", ">", '"', "{", "}", "|", "^", "`", "/", "\\"]
BIG_CAPTION = 50 * 1024 * 1024


def page(figid: str, title: str = "A figure", extra: str = "") -> str:
    return f"---\nfigid: {figid}\npmcid: PMC1\nfigtitle: {title}\nyear: 2020\n{extra}---\n"


def alias_bomb() -> str:
    """Billion laughs: nine levels of nine aliases, 9^9 (387 million) leaves if anything expands it."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\ngenes: *l9\nkeywords: *l9\norganisms: *l9\ncaption: *l9\n"


CASES = {  # file name -> (content, outcome, field, reason pattern, line)
    "bad-yaml.md": (page("PMC1__bad-yaml", "[unclosed"), "rejected", "front matter",
                    r"^invalid YAML: did not find expected ',' or '\]' "
                    r"\(while parsing a flow sequence on line 4\)$", 5),
    "no-front-matter.md": ("no front matter here\n", "rejected", "front matter", r"does not start with", 1),
    "unterminated.md": ("---\nfigid: PMC1__unterminated\nfigtitle: x\n", "rejected", "front matter",
                        r"not closed", None),
    "list.md": ("---\n- a\n- b\n---\n", "rejected", "front matter", r"is a list, not a mapping", None),
    "scalar.md": ("---\njust a scalar\n---\n", "rejected", "front matter",
                  r"^front matter is text, not a mapping of fields$", None),
    "empty-front-matter.md": ("---\n---\nbody\n", "rejected", "front matter", r"is empty", None),
    "title-is-a-list.md": (page("PMC1__title-list", "[a, b]"), "rejected", "figtitle",
                           r"expected text, found a list", None),
    "figid-is-a-number.md": ("---\nfigid: 12\npmcid: PMC1\nfigtitle: x\n---\n", "converted", None, None, None),
    "pmcid-is-a-mapping.md": ("---\nfigid: PMC1__pmcid-map\npmcid: {a: 1}\nfigtitle: x\n---\n", "rejected",
                              "pmcid", r"expected text, found a mapping", None),
    "wrong-types.md": (page("PMC1__wrong-types", extra=(
        "genes: 5\nchemicals: text\ndiseases: [1, 2]\nkeywords: {a: 1}\norganisms: 7\ncaption: {x: y}\n"
        "number: [1]\nndex: [a]\nfilename: {a: b}\npapertitle: [x]\norganisms_ner: {a: 1}\n")),
        "converted", None, None, None),
    "invalid-utf8.md": (b"---\nfigid: PMC1__utf8\npmcid: PMC1\nfigtitle: caf\xe9\n---\n", "rejected", "file",
                        r"^invalid UTF-8 at byte 47$", 4),
    "bom.md": (b"\xef\xbb\xbf" + page("PMC1__bom", "With a BOM").encode(), "converted", None, None, None),
    "crlf.md": (page("PMC1__crlf", "With CRLF").replace("\n", "\r\n"), "converted", None, None, None),
    "alias-bomb.md": (page("PMC1__bomb", extra=alias_bomb()), "converted", None, None, None),
    "deep.md": (page("PMC1__deep", extra="genes: " + "[" * 100_000 + "]" * 100_000 + "\n"), "rejected",
                "front matter", r"nesting depth", 6),
    "python-tag.md": (page("PMC1__tag", extra='caption: !!python/object/apply:os.system ["touch PWNED"]\n'),
                      "rejected", "front matter", r"could not determine a constructor", 6),
    "deep-block.md": (page("PMC1__deep-block", extra="".join(" " * i + "a:\n" for i in range(5000))), "rejected",
                      "front matter", r"^invalid YAML: exceeded maximum nesting depth$", 1005),
    "number-that-cannot-be-built.md": (page("PMC1__hex", "0x_"), "rejected", "front matter",
                                       r"^invalid YAML value: invalid literal for int\(\) with base 16", None),
    "impossible-date.md": (page("PMC1__date", "2001-02-30"), "rejected", "front matter",
                           r"^invalid YAML value: day is out of range for month$", None),
    "duplicate.md": (page("PMC1__good-1", "A second page with the same figid"), "rejected", "figid",
                     r"also in .*PMC1__good-1\.md, which is kept", None),
    "tsv-missing-columns.md": (page("PMC1__tsv-missing"), "converted", None, None, None),
    "tsv-extra-columns.md": (page("PMC1__tsv-extra"), "converted", None, None, None),
    "tsv-reordered.md": (page("PMC1__tsv-reordered"), "converted", None, None, None),
    "tsv-no-header.md": (page("PMC1__tsv-no-header"), "converted", None, None, None),
    "tsv-invalid-utf8.md": (page("PMC1__tsv-utf8"), "converted", None, None, None),
}
for i, c in enumerate(FIGID_CHARACTERS):
    CASES[f"figid-{i:02d}.md"] = (page(f"'PMC1__x{c}y'".replace("\\", "\\\\") if c == "\\" else f"'PMC1__x{c}y'"),
                                  "rejected", "figid", r"contains characters not allowed", None)
TSVS = {  # companion TSVs of the tsv-* records
    "PMC1__tsv-missing-genes.tsv": "word\tsource\tncbigene_id\tncbigene_symbol\nTP53\tncbigene_symbol\t7157\tTP53\n"
                                   "MDM2\tncbigene_symbol\n",
    "PMC1__tsv-extra-genes.tsv": "word\tsource\tncbigene_id\tncbigene_symbol\nTP53\tncbigene_symbol\t7157\tTP53\n"
                                 "MDM2\tncbigene_symbol\t4193\tMDM2\tzzz\n",
    "PMC1__tsv-reordered-genes.tsv": "ncbigene_symbol\tncbigene_id\tword\tsource\nTP53\t7157\tTP53\tncbigene_symbol\n",
    "PMC1__tsv-no-header-genes.tsv": "TP53\tncbigene_symbol\t7157\tTP53\n",
    "PMC1__tsv-utf8-genes.tsv": b"word\tsource\tncbigene_id\nTP\xff53\tncbigene_symbol\t7157\n",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The folder of cases converted by the CLI: (folder, output, exit status, stderr, report, peak RSS in MiB)."""
    root = tmp_path_factory.mktemp("hostile")
    figures, data = root / "in" / "_figures", root / "in" / "_data"
    figures.mkdir(parents=True)
    data.mkdir()
    for figid in GOOD:
        (figures / f"{figid}.md").write_text(page(figid), encoding="utf-8")
    for name, (content, *_rest) in CASES.items():
        target = figures / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8", newline="")
    (figures / "big-caption.md").write_text(page("PMC1__big", extra="caption: " + "x" * BIG_CAPTION + "\n"))
    for name, content in TSVS.items():
        target = data / name
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content, encoding="utf-8")
    os.mkfifo(figures / "fifo.md")  # reading it would wait forever
    (figures / "dangling.md").symlink_to(root / "nowhere.md")
    (figures / "self-loop.md").symlink_to(figures / "self-loop.md")
    (figures / "loop").mkdir()
    (figures / "loop" / "back").symlink_to(figures)  # a folder loop: each page must be found once
    unreadable = figures / "unreadable.md"
    unreadable.write_text(page("PMC1__unreadable"))
    unreadable.chmod(0)  # root reads it anyway: then it is converted
    out = root / "out"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    proc = subprocess.run([*cli_command(), "convert", str(root / "in"), "-o", str(out)], cwd=root,
                          capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = json.loads((out / "report.json").read_text(encoding="utf-8")) if (out / "report.json").exists() else {}
    return root, out, proc, report, (peak if peak > before else None), seconds


def outcome(report, name: str):
    rejected = [i for i in report["rejected"] if os.path.basename(i["file"]) == name]
    converted = [i for i in report["converted"] if os.path.basename(i["file"]) == name]
    assert len(rejected) + len(converted) == 1, (name, rejected, converted)
    return ("rejected", rejected[0]) if rejected else ("converted", converted[0])


def test_the_run_finishes_and_the_counts_add_up(run):
    root, _, proc, report, _, seconds = run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert report["records_read"] == report["records_converted"] + report["records_rejected"]
    pages = {p.name for p in (root / "in" / "_figures").iterdir() if p.name.endswith(".md")}
    listed = [os.path.basename(i["file"]) for i in report["converted"] + report["rejected"]]
    assert sorted(listed) == sorted(pages), "every page once: none lost, none twice (the folder loop)"
    assert len(listed) == report["records_read"]
    assert not (root / "PWNED").exists()
    assert seconds < 300  # the alias bomb and the deep nesting did not hang the run


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_is_reported_with_file_field_reason_and_line(run, name):
    _, _, proc, report, _, _ = run
    _, expected, field, reason, line = CASES[name]
    got, item = outcome(report, name)
    assert got == expected, (name, item)
    if expected == "rejected":
        assert item["field"] == field and re.search(reason, item["reason"]), item
        assert item["line"] == line, item
        message = f"rejected: {item['file']}{f':{line}' if line else ''}: {field}: {item['reason']}"
        assert message in proc.stderr.splitlines() or re.search(r"\.\.\. and \d+ more rejected records \(see "
                                                                  r"report\.json\)", proc.stderr)


def test_good_records_and_survivors_are_converted_intact(run):
    _, out, _, _, _, _ = run
    triples = list(ox.parse(path=str(out / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES))
    titles = {t.subject.value.rsplit("/", 1)[1]: t.object.value for t in triples
              if t.predicate.value == "https://schema.org/name" and "/figures/" in t.subject.value}
    for figid in GOOD:
        assert titles[f"{figid}.html"] == "A figure"
    assert titles["PMC1__bom.html"] == "With a BOM" and titles["PMC1__crlf.html"] == "With CRLF"
    assert titles["12.html"] == "x"
    assert titles["PMC1__big.html"] == "A figure"  # converted, without its 50 MB caption
    assert not [t for t in triples if t.predicate.value == "https://schema.org/caption"]
    genes = {(t.subject.value.rsplit("/", 1)[1], t.object.value) for t in triples
             if t.predicate.value == "https://schema.org/mentions"}
    assert ("PMC1__tsv-reordered.html", "https://identifiers.org/ncbigene/7157") in genes
    assert ("PMC1__tsv-missing.html", "https://identifiers.org/ncbigene/7157") in genes  # the good row is kept
    assert ("PMC1__tsv-extra.html", "https://identifiers.org/ncbigene/4193") not in genes  # the bad row is not
    assert not any(f.startswith("PMC1__tsv-no-header") for f, _ in genes)


def warnings_for(report, figid: str) -> list[dict]:
    return [w for w in report["warnings"] if w.get("figid") == figid]


def test_warnings_name_the_file_the_field_the_line_and_the_reason(run):
    _, _, _, report, _, _ = run
    wrong = {w["field"]: w["reason"] for w in warnings_for(report, "PMC1__wrong-types")}
    assert wrong["genes"] == "expected a list, found a number; ignored"
    assert wrong["chemicals"] == "expected a list, found text; ignored"
    assert wrong["diseases[0]"] == "expected a mapping, found a number; ignored"
    assert wrong["keywords"] == "expected text, found a mapping; ignored"
    assert wrong["organisms"] == "expected a list or text, found a number; ignored"
    for field in ("caption", "number", "ndex", "filename", "papertitle", "organisms_ner"):
        assert wrong[field].startswith("expected ") and wrong[field].endswith("; ignored"), field
    bomb = {w["field"].split("[")[0] for w in warnings_for(report, "PMC1__bomb")}
    assert {"genes", "keywords", "organisms", "caption"} <= bomb and len(warnings_for(report, "PMC1__bomb")) < 60
    big = warnings_for(report, "PMC1__big")
    assert [(w["field"], w["reason"]) for w in big] == [
        ("caption", f"{BIG_CAPTION:,} characters, over the 1,048,576 a value may have; ignored")]
    missing = warnings_for(report, "PMC1__tsv-missing")
    assert [(os.path.basename(w["file"]), w["field"], w["line"]) for w in missing] == [
        ("PMC1__tsv-missing-genes.tsv", "row", 3)]
    assert missing[0]["reason"] == "has 2 cells, the header has 4; row ignored"
    extra = warnings_for(report, "PMC1__tsv-extra")
    assert [(w["field"], w["line"], w["reason"]) for w in extra] == [
        ("row", 3, "has 5 cells, the header has 4; row ignored")]
    headless = warnings_for(report, "PMC1__tsv-no-header")
    assert [(w["field"], w["line"]) for w in headless] == [("word, ncbigene_id", 1)]
    assert "is the header row missing?" in headless[0]["reason"]
    utf8 = warnings_for(report, "PMC1__tsv-utf8")
    assert [(os.path.basename(w["file"]), w["field"], w["line"]) for w in utf8] == [
        ("PMC1__tsv-utf8-genes.tsv", "file", 2)]


def test_unusable_files_are_rejected_without_waiting(run):
    _, _, _, report, _, _ = run
    reasons = {os.path.basename(i["file"]): i["reason"] for i in report["rejected"]}
    assert reasons["fifo.md"] == "not a regular file"
    assert reasons["dangling.md"] == "cannot read: No such file or directory"
    assert reasons["self-loop.md"] == "cannot read: Too many levels of symbolic links"
    got, item = outcome(report, "unreadable.md")
    if os.geteuid() == 0:
        assert got == "converted"  # root reads a file whatever its mode
    else:
        assert got == "rejected" and item["reason"] == "cannot read: Permission denied"


def test_no_value_breaks_an_iri_a_path_or_the_dumps(run):
    _, out, _, _, _, _ = run
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "context.jsonld", "pfocr.jsonl", "pfocr.jsonld", "pfocr.nq", "pfocr.nt", "pfocr.ttl", "report.json",
        "void.ttl"]
    graphs = {}
    for name, fmt in (("pfocr.nt", ox.RdfFormat.N_TRIPLES), ("pfocr.nq", ox.RdfFormat.N_QUADS),
                      ("pfocr.ttl", ox.RdfFormat.TURTLE), ("pfocr.jsonld", ox.RdfFormat.JSON_LD)):
        graphs[name] = {(q.subject, q.predicate, q.object) for q in ox.parse(path=str(out / name), format=fmt)}
    graphs["pfocr.jsonl"] = _jsonl_triples(out / "pfocr.jsonl")
    assert len({frozenset(g) for g in graphs.values()}) == 1
    bad = re.compile(r'[\x00-\x20<>"{}|^`\\]')
    for s, p, o in graphs["pfocr.nt"]:
        for term in (s, p, o):
            if isinstance(term, ox.NamedNode):
                assert not bad.search(term.value), term
    rapper = subprocess.run(["rapper", "-q", "-i", "ntriples", "-c", str(out / "pfocr.nt")], capture_output=True,
                            text=True, timeout=300)
    assert rapper.returncode == 0, rapper.stderr


def test_memory_stays_bounded(run):
    *_, peak, _ = run
    if peak is None:
        pytest.skip("the peak of this child is hidden by an earlier, larger one")
    assert peak / 1024 < 1536, f"peak RSS {peak / 1024:.0f} MiB with a 50 MB caption and an alias bomb"


def test_strict_mode_exits_1_and_an_empty_folder_exits_2(run, tmp_path):
    root, *_ = run
    strict = subprocess.run([*cli_command(), "convert", str(root / "in" / "_figures" / "list.md"), "-o",
                             str(tmp_path / "strict"), "--strict"], capture_output=True, text=True, timeout=120)
    assert strict.returncode == 1 and "list.md" in strict.stderr
    (tmp_path / "empty").mkdir()
    empty = subprocess.run([*cli_command(), "convert", str(tmp_path / "empty"), "-o", str(tmp_path / "e")],
                           capture_output=True, text=True, timeout=120)
    assert empty.returncode == 2 and empty.stderr.strip() == f"Error: no figure records (*.md) found in " \
                                                              f"{tmp_path / 'empty'}"
    assert not (tmp_path / "e").exists()
    missing = subprocess.run([*cli_command(), "convert", str(tmp_path / "nope"), "-o", str(tmp_path / "n")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr


def test_the_reading_functions_refuse_the_same_input(tmp_path):
    """The Python API answers as the CLI does (RecordError naming file, field, reason)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from converter.records.sources import RecordError, Source, read_record

    fifo = tmp_path / "f.md"
    os.mkfifo(fifo)
    with pytest.raises(RecordError, match="not a regular file"):
        read_record(Source(str(fifo)))
    bomb = tmp_path / "bomb.md"
    bomb.write_text(page("PMC1__bomb", extra=alias_bomb()))
    started = time.monotonic()
    record = read_record(Source(str(bomb)))
    assert time.monotonic() - started < 5 and record.front_matter["figid"] == "PMC1__bomb"


def _jsonl_triples(path) -> set:
    """The triples pyld makes of every line of a pfocr.jsonl, together."""
    import json

    from pyld import jsonld

    from converter.rdf.jsonlines import context_loader

    base = "https://pfocr.wikipathways.org/dumps/pfocr.jsonl"
    options = {"format": "application/n-quads", "base": base, "documentLoader": context_loader(base)}
    triples = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        nquads = jsonld.to_rdf(json.loads(line), options)
        triples.update((q.subject, q.predicate, q.object) for q in ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
    return triples
