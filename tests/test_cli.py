"""The real ``pfocr-rdf`` console script, run as a user would run it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pyoxigraph as ox
import pytest

from _support import ALL_FILES, SEED, cli_command, minimal_record, write_record

SUMMARY = re.compile(r"^(\d+) records read: (\d+) converted, (\d+) rejected(?: \(\d+ unchanged since the last "
                     r"build\))?; (\d+) triples; (\d+) warnings; [\d.]+ s$")
GENE = "7099"
SAME_AS = "https://schema.org/sameAs"
MENTIONS = "https://schema.org/mentions"


def run(*args, stdin: bytes | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*cli_command(), *map(str, args)], input=stdin, capture_output=True, cwd=cwd, timeout=300)


def text(data: bytes) -> str:
    return data.decode("utf-8")


def summary_counts(line: str) -> tuple[int, ...]:
    match = SUMMARY.match(line)
    assert match, f"not a summary line: {line!r}"
    return tuple(int(g) for g in match.groups())


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """A small folder of records: two good ones (one mentions gene 7099) and nothing broken."""
    folder = tmp_path_factory.mktemp("records")
    write_record(folder / "a.md", minimal_record(
        "PMC1__cli-a", caption="A caption.",
        genes=[{"word": "TLR4", "symbol": "TLR4", "source": "hgnc_symbol", "hgnc_symbol": "TLR4", "entrez": GENE}],
        chemicals=[], diseases=[]))
    write_record(folder / "b.md", minimal_record("PMC2__cli-b", pmcid="PMC2"))
    return folder


def test_console_script_is_installed():
    command = cli_command()
    assert command[0] != sys.executable, "the pfocr-rdf console script is not installed in this environment"


BUILD = ".pfocr-build"  # the index of the last build, for the next (incremental rebuilds)


def test_convert_writes_all_files_and_one_summary_line(records, tmp_path):
    out = tmp_path / "out"
    proc = run("convert", records, "-o", out)
    assert proc.returncode == 0, text(proc.stderr)
    assert sorted(p.name for p in out.iterdir()) == sorted([*ALL_FILES, BUILD])
    # what the next build reuses, and the lock that keeps two builds from writing here at once
    assert sorted(p.name for p in (out / BUILD).iterdir()) == [".lock", "index.sqlite"]
    lines = text(proc.stdout).splitlines()
    assert len(lines) == 1
    read, converted, rejected, triples, warnings = summary_counts(lines[0])
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (read, converted, rejected, triples, warnings) == (
        report["records_read"], report["records_converted"], report["records_rejected"], report["triples"],
        len(report["warnings"]))
    assert (read, converted, rejected) == (2, 2, 0)
    assert "Traceback" not in text(proc.stderr)


def test_format_nt_writes_only_ntriples(records, tmp_path):
    out = tmp_path / "out"
    proc = run("convert", records, "-o", out, "--format", "nt")
    assert proc.returncode == 0, text(proc.stderr)
    assert sorted(p.name for p in out.iterdir()) == [BUILD, "pfocr.nt", "report.json", "void.ttl"]


def test_format_ttl_and_jsonld(records, tmp_path):
    out = tmp_path / "out"
    proc = run("convert", records, "-o", out, "--format", "ttl,jsonld")
    assert proc.returncode == 0, text(proc.stderr)
    assert sorted(p.name for p in out.iterdir()) == [BUILD, "context.jsonld", "pfocr.jsonld", "pfocr.ttl",
                                                     "report.json", "void.ttl"]
    ttl = {q.triple for q in ox.parse(path=str(out / "pfocr.ttl"), format=ox.RdfFormat.TURTLE)}
    jsonld = {q.triple for q in ox.parse(path=str(out / "pfocr.jsonld"), format=ox.RdfFormat.JSON_LD)}
    assert ttl and ttl == jsonld


def test_stream_ntriples_to_stdout(records, tmp_path):
    proc = run("convert", records, "-o", "-", "--format", "nt", cwd=tmp_path)
    assert proc.returncode == 0, text(proc.stderr)
    triples = list(ox.parse(proc.stdout, format=ox.RdfFormat.N_TRIPLES))
    err_lines = text(proc.stderr).splitlines()
    assert len(err_lines) == 1
    assert summary_counts(err_lines[0])[3] == len(triples) > 0
    assert list(tmp_path.iterdir()) == []  # nothing written beside: no output folder, no report


def test_stdout_takes_one_format(records, tmp_path):
    proc = run("convert", records, "-o", "-", "--format", "nt,ttl", cwd=tmp_path)
    assert proc.returncode == 2
    stderr = text(proc.stderr)
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "-o -" in errors[0] and "format" in errors[0], stderr
    assert proc.stdout == b""
    assert list(tmp_path.iterdir()) == []


def test_missing_path_exits_2_naming_it(tmp_path):
    missing = tmp_path / "no-such-folder"
    proc = run("convert", missing, "-o", tmp_path / "out")
    assert proc.returncode == 2
    stderr = text(proc.stderr)
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and str(missing) in errors[0], stderr
    assert not (tmp_path / "out").exists()


def test_unknown_format_exits_2(records, tmp_path):
    proc = run("convert", records, "-o", tmp_path / "out", "--format", "rdfxml")
    assert proc.returncode == 2
    assert "Traceback" not in text(proc.stderr) and "rdfxml" in text(proc.stderr)


def test_one_record_from_stdin(tmp_path):
    record = "---\nfigid: PMC9__stdin-f1\npmcid: PMC9\nfigtitle: From standard input\nyear: '2001'\n---\n"
    proc = run("convert", "-", "-o", "-", "--format", "nt", stdin=record.encode("utf-8"))
    assert proc.returncode == 0, text(proc.stderr)
    triples = list(ox.parse(proc.stdout, format=ox.RdfFormat.N_TRIPLES))
    names = [t.object.value for t in triples
             if t.subject == ox.NamedNode("https://pfocr.wikipathways.org/figures/PMC9__stdin-f1.html")
             and t.predicate == ox.NamedNode("https://schema.org/name")]
    assert names == ["From standard input"]
    assert summary_counts(text(proc.stderr).splitlines()[-1])[:3] == (1, 1, 0)


@pytest.mark.skipif(not SEED.is_dir(), reason="real PFOCR data not found")
def test_seed_record_from_stdin_to_folder(tmp_path):
    seed = next(SEED.glob("*.md"))
    proc = run("convert", "-", "-o", tmp_path / "out", "--format", "ttl", stdin=seed.read_bytes())
    assert proc.returncode == 0, text(proc.stderr)
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["converted"] == [{"figid": seed.stem, "file": "-"}]


@pytest.fixture()
def broken(records, tmp_path):
    folder = tmp_path / "with-broken"
    folder.mkdir()
    for md in records.glob("*.md"):
        (folder / md.name).write_bytes(md.read_bytes())
    (folder / "broken.md").write_text("---\nfigid: PMC3__broken\npmcid: PMC3\nfigtitle: never closed\n",
                                      encoding="utf-8")
    return folder


def test_strict_exits_1_on_rejected_record(broken, tmp_path):
    proc = run("convert", broken, "-o", tmp_path / "out", "--strict")
    assert proc.returncode == 1
    stderr = text(proc.stderr)
    assert "Traceback" not in stderr
    assert "broken.md" in stderr
    assert summary_counts(text(proc.stdout).splitlines()[-1])[:3] == (3, 2, 1)
    assert (tmp_path / "out" / "pfocr.ttl").is_file()  # the good records are still converted


def test_without_strict_rejections_exit_0(broken, tmp_path):
    proc = run("convert", broken, "-o", tmp_path / "out")
    assert proc.returncode == 0, text(proc.stderr)
    assert "broken.md" in text(proc.stderr)


def test_strict_exits_0_when_nothing_rejected(records, tmp_path):
    proc = run("convert", records, "-o", tmp_path / "out", "--strict", "--format", "nt")
    assert proc.returncode == 0, text(proc.stderr)


def test_iri_style_colon(records, tmp_path):
    out = tmp_path / "out"
    proc = run("convert", records, "-o", out, "--format", "nt", "--iri-style", "colon")
    assert proc.returncode == 0, text(proc.stderr)
    triples = {q.triple for q in ox.parse(path=str(out / "pfocr.nt"), format=ox.RdfFormat.N_TRIPLES)}
    colon = ox.NamedNode(f"https://identifiers.org/ncbigene:{GENE}")
    slash = ox.NamedNode(f"https://identifiers.org/ncbigene/{GENE}")
    fig = ox.NamedNode("https://pfocr.wikipathways.org/figures/PMC1__cli-a.html")
    assert ox.Triple(fig, ox.NamedNode(MENTIONS), colon) in triples
    assert ox.Triple(colon, ox.NamedNode(SAME_AS), slash) in triples
    # the slash form appears only as the object of schema:sameAs
    assert not any(t.subject == slash or (t.object == slash and t.predicate != ox.NamedNode(SAME_AS))
                   for t in triples)
    genes = {t.object.value for t in triples if t.predicate == ox.NamedNode(MENTIONS)
             and "ncbigene" in t.object.value}
    assert genes == {colon.value}


def test_iri_style_slash_is_default(records, tmp_path):
    out = tmp_path / "out"
    proc = run("convert", records, "-o", out, "--format", "nt")
    assert proc.returncode == 0
    nt = (out / "pfocr.nt").read_text(encoding="utf-8")
    assert f"<https://identifiers.org/ncbigene/{GENE}> <{SAME_AS}> <https://identifiers.org/ncbigene:{GENE}>" in nt


def test_python_m_converter_help():
    proc = subprocess.run([sys.executable, "-m", "converter", "--help"], capture_output=True, timeout=120)
    assert proc.returncode == 0
    assert "convert" in text(proc.stdout)
    proc = subprocess.run([sys.executable, "-m", "converter", "convert", "--help"], capture_output=True, timeout=120)
    assert proc.returncode == 0
    for option in ("--output", "--format", "--iri-style", "--jobs", "--strict"):
        assert option in text(proc.stdout)
