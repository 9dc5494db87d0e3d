#!/usr/bin/env python3
"""Measure the converter on a large generated corpus, against the floor of reading the input.

    python benchmarks/bench_convert.py [-n 20000] [--seed 1] [--corpus DIR] [--jobs N] [--json FILE]

Builds the corpus with ``make_corpus.py`` when it is missing (by default into ``benchmarks/corpus/``, which git
ignores), then runs, each in its own subprocess:

* ``floor``: read every ``.md`` page and companion TSV and parse the YAML front matter the fastest way the
  project knows (the converter's own reader, ``converter.records.yaml_subset``, with PyYAML's ``CSafeLoader``
  for the pages outside its subset), nothing else, in one process: no conversion can be faster than this;
* ``pfocr-rdf convert`` writing each single format (``nt``, ``ttl``, ``nq``, ``jsonld``, ``jsonl``) and all five
  together; any formats joined by ``+`` (``jsonld+jsonl``) are a run too.
* ``baselines`` (``baselines.py``): on the first 5,000 records, ``pfocr-rdf convert --format nt --jobs N`` beside
  an rdflib pipeline and Morph-KGC with an RML mapping, each doing the converter's work end to end (reading and
  parsing the records included) on N processes, for N = the number of CPUs and then 1; each baseline's output is
  then compared with the converter's (untimed), and the ratios are given in wall and in CPU time.

For each run it prints records/s and triples/s (records read and triples written, from the ``report.json`` the
converter writes), wall-clock seconds, the peak resident set size of the largest process of the run (the
subprocess and its workers, from ``wait4``'s resource usage) and the bytes of the dumps written. The table
is for reading and comparing; nothing here asserts on timings. ``--json FILE`` also writes the numbers as JSON.
Every run starts with the files it reads in the page cache (read once just before, untimed), so that all are
timed alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FORMATS = ("nt", "ttl", "nq", "jsonld", "jsonl")


# --- the floor, run in a child process: `bench_convert.py --floor CORPUS` ------------------------------------------
def floor(corpus: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from converter.records.sources import RecordError, parse_yaml

    fence = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)
    records = parsed = tsv_files = size = 0
    for folder, suffix in (("_figures", ".md"), ("_data", ".tsv")):
        path = os.path.join(corpus, folder)
        if not os.path.isdir(path):
            continue
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            if not entry.name.endswith(suffix):
                continue
            with open(entry.path, "rb") as fh:
                data = fh.read()
            size += len(data)
            text = data.decode("utf-8")
            if suffix == ".tsv":
                tsv_files += 1
                continue
            records += 1
            first = fence.match(text)
            closing = fence.search(text, first.end()) if first else None
            if closing is None:
                continue  # a broken record: nothing to parse
            try:
                parse_yaml(text[first.end(): closing.start()], entry.path)
                parsed += 1
            except RecordError:
                pass
    return {"records_read": records, "front_matters_parsed": parsed, "tsv_files": tsv_files, "input_bytes": size}


# --- running and measuring one subprocess ---------------------------------------------------------------------------
# A minimal launcher between this script and each measured command. A process's peak RSS (ru_maxrss) starts
# from the memory of the process it was forked from, so a command started straight from this script would
# report at least this script's own peak (the corpus builder's tables included). The launcher, a bare
# interpreter of a few MiB, forks and execs the command, waits for it with wait4 (the rusage of that child and
# the workers it reaped: RUSAGE_CHILDREN for that one command) and times it.
_LAUNCHER = """
import os, sys, time
result, cmd = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(result, "w") as fh:
    fh.write(f"{os.waitstatus_to_exitcode(status)} {wall!r} {usage.ru_maxrss} {usage.ru_utime!r} {usage.ru_stime!r}")
"""


def warm(folder: Path) -> None:
    """Read every file under ``folder`` once, untimed, so that each run finds its input in the page cache.

    Runs were otherwise timed under whatever cache the one before left: on this machine's virtual disk, reading the
    100,000-record corpus (162,000 small files) took 20.4 s after the cache was dropped, and 1.7 s again."""
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def _cpu_ticks() -> list[int] | None:
    """The machine's CPU time so far by kind (Linux ``/proc/stat``: user, nice, system, idle, iowait, irq, softirq,
    steal), or None elsewhere. Steal is time the hypervisor gave this virtual machine's CPUs to others: on the
    machine these tables come from it ran at up to a quarter, which slows every run by as much and is why each run
    also says how much it had."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    return [int(v) for v in fields[1:9]] if fields and fields[0] == "cpu" and len(fields) >= 9 else None


def measure(cmd: list[str], log_dir: Path, name: str, reads: Path | None = None) -> dict:
    """Run ``cmd`` through the launcher: exit status, wall and CPU seconds, peak RSS (bytes) of its largest process.
    ``reads``, the folder the command reads, is put in the page cache first (:func:`warm`)."""
    if reads is not None:
        warm(reads)
    out_path, err_path, result = (log_dir / f"{name}.{suffix}" for suffix in ("stdout", "stderr", "rusage"))
    result.unlink(missing_ok=True)
    before = _cpu_ticks()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        launcher = subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(result), *cmd], stdout=out,
                                  stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT, check=False)
    if launcher.returncode != 0 or not result.exists():
        raise RuntimeError(f"the measuring launcher failed: {err_path.read_text(errors='replace')[-2000:]}")
    code, wall, maxrss, utime, stime = result.read_text().split()
    after = _cpu_ticks()
    steal = None
    if before and after and sum(after) > sum(before):
        steal = 100 * (after[7] - before[7]) / (sum(after) - sum(before))
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in KiB on Linux, bytes on macOS
    return {"exit": int(code), "wall_s": float(wall), "peak_rss_bytes": int(maxrss) * unit, "user_s": float(utime),
            "sys_s": float(stime), "steal_percent": steal, "stdout": out_path.read_text(errors="replace"),
            "stderr": err_path.read_text(errors="replace")}


def compiled_site() -> Path:
    """The package as its wheel is built (setup.py: the per-record path compiled by mypyc), installed alone into a
    folder the measured commands put ahead of this environment's libraries; built once per state of the sources."""
    import hashlib

    sources = sorted([*ROOT.glob("converter/**/*.py"), ROOT / "setup.py", ROOT / "pyproject.toml"])
    key = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]
    site = HERE / ".compiled" / key
    if not (site / "converter").is_dir():
        print("building the compiled wheel ...", file=sys.stderr, flush=True)
        shutil.rmtree(site.parent, ignore_errors=True)  # the builds of earlier sources
        with tempfile.TemporaryDirectory(prefix="pfocr-wheel-") as tmp:
            subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp, str(ROOT)], check=True,
                           stdout=subprocess.DEVNULL)
            (wheel,) = Path(tmp).glob("*.whl")
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                            str(wheel)], check=True)
    return site


def build_description() -> str:
    """Which build the measured commands run, and what compiled it."""
    version = subprocess.run([*converter_command(), "--version"], capture_output=True, text=True, check=False)
    text = version.stdout.strip().rsplit("(", 1)[-1].rstrip(")") or "unknown"
    if text == "compiled":
        import mypy.version

        cc = subprocess.run(["cc", "--version"], capture_output=True, text=True, check=False).stdout
        text += f" by mypyc {mypy.version.__version__}, {cc.splitlines()[0] if cc else 'cc'}"
    return text


def converter_command() -> list[str]:
    script = Path(sys.executable).with_name("pfocr-rdf")  # the console script of the environment running this
    return [str(script)] if os.access(script, os.X_OK) else [sys.executable, "-m", "converter"]


def run_floor(corpus: Path, log_dir: Path, repeat: int) -> dict:
    best = None
    for _ in range(repeat):
        m = measure([sys.executable, str(Path(__file__).resolve()), "--floor", str(corpus)], log_dir, "floor",
                    corpus)
        if m["exit"] != 0:
            return {"name": "floor", "error": m["stderr"][-2000:], **m}
        if best is None or m["wall_s"] < best["wall_s"]:
            best = m
    stats = json.loads(best["stdout"])
    return {"name": "floor (read + YAML)", "records": stats["records_read"], "triples": None, "output_bytes": 0,
            "input_bytes": stats["input_bytes"], "tsv_files": stats["tsv_files"],
            **{k: best[k] for k in ("exit", "wall_s", "peak_rss_bytes", "user_s", "sys_s", "steal_percent")}}


def run_convert(corpus: Path, formats: list[str], jobs: int | None, log_dir: Path, work: Path, repeat: int,
                extra: tuple[str, ...] = (), keep: list[Path] | None = None) -> dict:
    name = ",".join(formats) + "".join(f" {e}" for e in extra)
    best = None
    for _ in range(repeat):
        out = work / f"out-{name.replace(',', '-').replace(' ', '')}"
        shutil.rmtree(out, ignore_errors=True)
        cmd = [*converter_command(), "convert", str(corpus), "-o", str(out), "--format", ",".join(formats), *extra]
        if jobs is not None:
            cmd += ["--jobs", str(jobs)]
        m = measure(cmd, log_dir, f"convert-{name.replace(',', '-').replace(' ', '')}", corpus)
        if m["exit"] != 0:
            shutil.rmtree(out, ignore_errors=True)
            return {"name": f"convert {name}", "error": (m["stderr"] + m["stdout"])[-2000:], "cmd": cmd, **m}
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        m.update(
            records=report["records_read"], converted=report["records_converted"],
            rejected=report["records_rejected"], warnings=len(report["warnings"]), triples=report["triples"],
            output_bytes=sum((out / f).stat().st_size for f in report["outputs"].values()
                             if f not in ("void.ttl", "report.json", "shacl-report.ttl")),
            cmd=cmd, validation=report.get("validation"),
        )
        if keep is not None:
            keep.append(out)  # the caller validates this dump, then removes it
            best = m
            break
        shutil.rmtree(out, ignore_errors=True)  # dumps of a 20,000-record corpus take gigabytes
        if best is None or m["wall_s"] < best["wall_s"]:
            best = m
    assert best is not None
    best.pop("stdout"), best.pop("stderr")
    return {"name": f"convert {name}", **best}


def run_validate(dump_dir: Path, engine: str, log_dir: Path, figures: int) -> dict:
    """``pfocr-rdf validate`` on a converted N-Triples dump, end to end (reading the dump included)."""
    cmd = [*converter_command(), "validate", str(dump_dir / "pfocr.nt"), "--engine", engine,
           "--report", str(dump_dir / f"shacl-{engine}.ttl")]
    m = measure(cmd, log_dir, f"validate-{engine}")
    name = f"validate --engine {engine}"
    if m["exit"] not in (0, 1):
        return {"name": name, "error": (m["stderr"] + m["stdout"])[-2000:], **m}
    m.pop("stdout"), m.pop("stderr")
    return {"name": name, "records": figures, "triples": None, "output_bytes": 0, "cmd": cmd, **m}


def check_against_pyshacl(shared: Path) -> str:
    """On the real sample: convert --validate and the stream engine on the dump equal pySHACL on the whole graph."""
    sample = shared / "sample"
    if not sample.is_dir():
        return "pySHACL comparison skipped: no real sample"
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    import rdflib
    from _reference import pyshacl_results  # pySHACL, the reference: a test dependency

    from converter import convert
    from converter.validate import validate

    with tempfile.TemporaryDirectory() as tmp:
        report = convert([str(sample)], output=tmp, formats=["nt"], validate=True)
        stream = validate([str(Path(tmp) / "pfocr.nt")], engine="stream", jobs=2)
        graph = rdflib.Graph().parse(Path(tmp) / "pfocr.nt", format="nt")
    reference = {r.key() for r in pyshacl_results(graph)}
    lines = []
    for name, found in (("convert --validate", report.validation), ("validate --engine stream", stream)):
        ours = {r.key() for r in found.results}
        verdict = "equal" if ours == reference else f"DIFFERENT ({len(ours ^ reference)} results differ)"
        lines.append(f"on the real sample ({report.records_converted} figures): {name} {len(ours)} results, "
                     f"pySHACL {len(reference)} results: {verdict}")
    return "\n".join(lines)


# --- incremental rebuilds ------------------------------------------------------------------------------------------
def _change(copy: Path, share: float) -> int:
    """Rewrite every 1/share-th page (as a new file: the hard-linked original corpus stays as it is)."""
    pages = sorted((copy / "_figures").glob("*.md"))
    step = max(1, round(1 / share))
    for page in pages[::step]:
        text = page.read_text(encoding="utf-8").replace("caption: ", "caption: Revised. ", 1)
        fresh = page.with_suffix(".tmp")
        fresh.write_text(text, encoding="utf-8")
        os.replace(fresh, page)
    return len(pages[::step])


def run_incremental(corpus: Path, jobs: int | None, log_dir: Path, work: Path, share: float = 0.01) -> list[dict]:
    """A full build of a copy of the corpus; 1% of its pages changed; the rebuild into the same folder against a
    full build of the changed copy, whose outputs must be byte-identical to the rebuild's."""
    out, full, changed = work / "incremental-out", work / "incremental-full", work / "corpus-copy"
    shutil.rmtree(changed, ignore_errors=True)
    shutil.copytree(corpus, changed, copy_function=os.link)  # the records' paths are part of what a build reads
    extra = ["--jobs", str(jobs)] if jobs is not None else []
    first = measure([*converter_command(), "convert", str(changed), "-o", str(out), *extra], log_dir, "first",
                    changed)
    if first["exit"] != 0:
        return [{"name": "incremental", "error": first["stderr"][-2000:], **first}]
    count = _change(changed, share)
    rows = []
    for name, target in ((f"rebuild, {count} records changed", out), ("full build of the same", full)):
        m = measure([*converter_command(), "convert", str(changed), "-o", str(target), *extra], log_dir,
                    name.split(",")[0].replace(" ", "-"), changed)
        if m["exit"] != 0:
            return [{"name": name, "error": m["stderr"][-2000:], **m}]
        report = json.loads((target / "report.json").read_text(encoding="utf-8"))
        m.pop("stdout"), m.pop("stderr")
        rows.append({"name": name, "records": report["records_read"], "triples": report["triples"],
                     "output_bytes": sum((target / f).stat().st_size for f in report["outputs"].values()), **m})
    same = all((out / f).read_bytes() == (full / f).read_bytes() for f in os.listdir(full) if not f.startswith("."))
    rows[0]["identical_to_full_build"] = same
    rows[0]["share_of_full_build"] = rows[0]["wall_s"] / rows[1]["wall_s"]
    for path in (out, full, changed):
        shutil.rmtree(path, ignore_errors=True)
    return rows


# --- baselines: rdflib and Morph-KGC on the first records of the same corpus ------------------------------------
def _subset(corpus: Path, work: Path, n: int) -> Path:
    sub = work / f"subset-{n}"
    shutil.rmtree(sub, ignore_errors=True)
    (sub / "_figures").mkdir(parents=True)
    (sub / "_data").mkdir()
    companions: dict[str, list[Path]] = {}
    for tsv in (corpus / "_data").glob("*.tsv"):
        companions.setdefault(tsv.name.rsplit("-", 1)[0], []).append(tsv)
    for page in sorted((corpus / "_figures").glob("*.md"))[:n]:
        os.link(page, sub / "_figures" / page.name)
        for tsv in companions.get(page.stem, []):
            os.link(tsv, sub / "_data" / tsv.name)
    return sub


def _triples(path: Path) -> Iterator[str]:
    """Each triple of an N-Triples file in one canonical text, whatever escaping its writer chose."""
    import pyoxigraph as ox

    return (str(t) for t in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES))


def same_graph(reference: set[int], reference_path: Path, path: Path) -> dict:
    """Whether the N-Triples file at ``path`` holds the same triples as the reference (``reference``: the hashes of
    its triples); on a difference, the counts and the first few triples each way."""
    found = {hash(t) for t in _triples(path)}
    if found == reference:
        return {"equal": True, "triples": len(found)}
    return {"equal": False, "triples": len(found), "missing": len(reference - found), "extra": len(found - reference),
            "first_missing": sorted(t for t in _triples(reference_path) if hash(t) not in found)[:5],
            "first_extra": sorted(t for t in _triples(path) if hash(t) not in reference)[:5]}


def run_baselines(corpus: Path, n: int, log_dir: Path, work: Path, processes: list[int]) -> list[dict]:
    """The converter (N-Triples), the rdflib pipeline and Morph-KGC on the same first ``n`` records, each end to end
    (reading and parsing the records included) on the same number of processes, for each number in ``processes``;
    and whether each baseline wrote the converter's graph (compared after the timed runs)."""
    sys.path.insert(0, str(HERE))
    import baselines

    sub = _subset(corpus, work, n)
    rows: list[dict] = []
    try:
        morph: str | None = baselines.install_morph()
    except (subprocess.CalledProcessError, OSError) as err:
        morph = None
        rows.append({"name": "Morph-KGC", "error": f"could not be installed: {err}", "exit": -1, "wall_s": 0.0})
    script = str(HERE / "baselines.py")
    for count in processes:
        each = f"{n} records, {count} process{'es' if count > 1 else ''}"
        kept: list[Path] = []
        ours = run_convert(sub, ["nt"], count, log_dir, work, 1, keep=kept)
        ours.update(name=f"pfocr-rdf convert nt ({each})", processes=count)
        rows.append(ours)
        if "error" in ours:
            continue
        reference_path = kept[0] / "pfocr.nt"
        reference = {hash(t) for t in _triples(reference_path)}
        out = work / "baseline.nt"
        runs = [("rdflib pipeline", [sys.executable, script, "rdflib", str(sub), str(out)])]
        if morph is not None:
            runs.append(("Morph-KGC", [sys.executable, script, "morph", str(sub), str(out), "--morph-python", morph]))
        for label, cmd in runs:
            out.unlink(missing_ok=True)
            m = measure([*cmd, "--processes", str(count)], log_dir, f"{label.split()[0].lower()}-{count}", sub)
            if m["exit"] != 0:
                rows.append({"name": f"{label} ({each})", "error": (m["stderr"] + m["stdout"])[-2000:], **m})
                continue
            stats = json.loads(m.pop("stdout").strip().splitlines()[-1])
            m.pop("stderr")
            rows.append({"name": f"{label} ({each})", "records": stats["records_read"], "triples": stats["triples"],
                         "output_bytes": out.stat().st_size, "processes": count, "baseline_stats": stats,
                         "same_graph": same_graph(reference, reference_path, out), **m})
            out.unlink()
        shutil.rmtree(kept[0], ignore_errors=True)
    shutil.rmtree(sub, ignore_errors=True)
    return rows


# --- reporting ------------------------------------------------------------------------------------------------------
def _rate(count: int | None, seconds: float) -> str:
    return "-" if count is None or not seconds else f"{count / seconds:,.0f}"


def table(results: list[dict]) -> str:
    header = ("run", "records/s", "triples/s", "wall s", "CPU s", "steal %", "peak RSS MiB", "output MiB",
              "output bytes")
    rows = []
    for r in results:
        if "error" in r:
            rows.append((r["name"], "failed", f"exit {r['exit']}", f"{r['wall_s']:.1f}", "-", "-", "-", "-", "-"))
            continue
        steal = r.get("steal_percent")
        rows.append((
            r["name"], _rate(r["records"], r["wall_s"]), _rate(r["triples"], r["wall_s"]), f"{r['wall_s']:.1f}",
            f"{r['user_s'] + r['sys_s']:.1f}", "-" if steal is None else f"{steal:.0f}",
            f"{r['peak_rss_bytes'] / 2**20:,.0f}", f"{r['output_bytes'] / 2**20:,.1f}", f"{r['output_bytes']:,}",
        ))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def ratios(results: list[dict]) -> list[str]:
    """The comparisons the targets are stated in, from the rows of this run."""
    ok = {r["name"]: r for r in results if "error" not in r}
    lines = []
    floor, nt, every = ok.get("floor (read + YAML)"), ok.get("convert nt"), ok.get("convert ttl,nt,nq,jsonld")
    if floor and nt:
        cpu = (nt["user_s"] + nt["sys_s"]) / (floor["user_s"] + floor["sys_s"])
        lines.append(f"convert nt takes {nt['wall_s'] / floor['wall_s']:.2f}x the floor's time "
                     f"({nt['wall_s']:.1f} s against {floor['wall_s']:.1f} s) and {cpu:.2f}x its CPU time")
    if every:
        lines.append(f"all five dumps: {every['wall_s']:.1f} s for {every['records']:,} records, peak RSS "
                     f"{every['peak_rss_bytes'] / 2**20:,.0f} MiB")
    rebuild = next((r for r in results if r["name"].startswith("rebuild")), None)
    if rebuild and "share_of_full_build" in rebuild:
        lines.append(f"incremental rebuild: {rebuild['share_of_full_build']:.0%} of a full build's time, output "
                     f"{'identical to' if rebuild.get('identical_to_full_build') else 'DIFFERENT from'} a full build's")
    for ours in (r for r in results if r["name"].startswith("pfocr-rdf convert nt (") and "error" not in r):
        count = ours["processes"]
        for prefix in ("rdflib pipeline", "Morph-KGC"):
            other = next((r for r in results if r["name"].startswith(prefix) and r.get("processes") == count
                          and "error" not in r), None)
            if other is None:
                continue
            cpu, other_cpu = ours["user_s"] + ours["sys_s"], other["user_s"] + other["sys_s"]
            same = other["same_graph"]
            verdict = (f"the same {same['triples']:,} triples" if same["equal"] else
                       f"NOT THE SAME GRAPH: {same['missing']:,} triples missing, {same['extra']:,} extra, e.g. "
                       f"{(same['first_missing'] + same['first_extra'])[:2]}")
            lines.append(f"{prefix}, {count} process{'es' if count > 1 else ''} each: the converter is "
                         f"{other['wall_s'] / ours['wall_s']:.1f}x faster in wall time ({ours['wall_s']:.1f} s "
                         f"against {other['wall_s']:.1f} s) and {other_cpu / cpu:.1f}x in CPU time ({cpu:.1f} s "
                         f"against {other_cpu:.1f} s) on the same {ours['records']:,} records; {verdict}")
    return lines


def ensure_corpus(corpus: Path, n: int, seed: int, shared: str | None) -> dict:
    manifest_path = corpus / "CORPUS.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("records") == n and manifest.get("seed") == seed:
            import make_corpus

            if manifest.get("version") == make_corpus.VERSION:
                return manifest
        print(f"{corpus} holds another corpus ({manifest.get('records')} records, seed {manifest.get('seed')}); "
              "rebuilding it", file=sys.stderr)
    elif (corpus / "_figures").exists():
        sys.exit(f"bench_convert: {corpus} has _figures/ but no CORPUS.json; pass another --corpus")
    import make_corpus

    print(f"building a {n}-record corpus in {corpus} ...", file=sys.stderr)
    shared_path = Path(shared) if shared else ROOT / make_corpus.DEFAULT_SHARED
    return make_corpus.build(corpus, n, seed, shared_path, force=True)


def main(argv: list[str] | None = None) -> None:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--floor":  # the child process of the floor run
        print(json.dumps(floor(sys.argv[2])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--records", type=int, default=20000, help="corpus size (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--corpus", help="corpus folder (default benchmarks/corpus/pfocr-n<N>-s<SEED>); "
                                         "built there when missing")
    parser.add_argument("--shared", help="shared PFOCR data for building the corpus (default ../shared/pfocr)")
    parser.add_argument("--jobs", type=int, help="worker processes for the converter (default: its own, one per core)")
    parser.add_argument("--baseline-records", type=int, default=5000,
                        help="records the baselines (and the converter beside them) run on (default 5000)")
    parser.add_argument("--baseline-processes", default=None,
                        help="comma-separated numbers of processes the converter and each baseline run on, side by "
                             "side (default: the number of CPUs, then 1)")
    parser.add_argument("--runs", default="floor,nt,ttl,nq,jsonld,jsonl,jsonld+jsonl,all,validate,incremental,"
                                          "baselines",
                        help="comma-separated subset of floor,nt,ttl,nq,jsonld,jsonl,all,validate,incremental,"
                             "baselines, or formats joined by + (default: all of them). validate runs convert "
                             "--format nt --validate, then pfocr-rdf "
                             "validate with the stream and sparql engines on that dump; incremental rebuilds after "
                             "1%% of the pages changed; baselines runs the rdflib pipeline and Morph-KGC")
    parser.add_argument("--repeat", type=int, default=1, help="run each measurement this many times, keep the fastest")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--build", choices=("installed", "compiled"), default="installed",
                        help="the converter this environment has (a checkout's is pure Python), or the wheel as "
                             "released, with the per-record path compiled by mypyc (built into "
                             "benchmarks/.compiled/ on first use)")
    args = parser.parse_args(argv)
    if args.build == "compiled":  # every measured command, the floor's too, imports the compiled package
        os.environ["PYTHONPATH"] = str(compiled_site())
        os.environ["PYTHONSAFEPATH"] = "1"
    build = build_description()
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = [r for r in runs if r not in ("floor", "all", "validate", "incremental", "baselines")
               and not set(r.split("+")) <= set(FORMATS)]
    if unknown:
        parser.error(f"unknown run {', '.join(unknown)}")

    if args.baseline_processes:
        baseline_processes = [int(p) for p in args.baseline_processes.split(",") if p.strip()]
    else:
        baseline_processes = list(dict.fromkeys((os.cpu_count() or 1, 1)))

    sys.path.insert(0, str(HERE))
    corpus = Path(args.corpus) if args.corpus else HERE / "corpus" / f"pfocr-n{args.records}-s{args.seed}"
    manifest = ensure_corpus(corpus, args.records, args.seed, args.shared)

    results = []
    load_start = os.getloadavg()  # other work on the machine moves the wall time: said beside the figures
    with tempfile.TemporaryDirectory(prefix="pfocr-bench-") as tmp:
        work = Path(tmp)
        for run in runs:
            print(f"running {run} ...", file=sys.stderr, flush=True)
            if run == "floor":
                result = run_floor(corpus, work, args.repeat)
            elif run == "validate":
                kept: list[Path] = []
                result = run_convert(corpus, ["nt"], args.jobs, work, work, 1, ("--validate",), kept)
                results.append(result)
                if "error" not in result and kept:
                    # the sparql engine holds the whole graph in memory: about 12 GiB at 100,000 records
                    for engine in ("stream", "sparql") if args.records <= 50_000 else ("stream",):
                        print(f"running validate --engine {engine} ...", file=sys.stderr, flush=True)
                        results.append(run_validate(kept[0], engine, work, result["converted"]))
                    shutil.rmtree(kept[0], ignore_errors=True)
                continue
            elif run in ("incremental", "baselines"):
                rows = (run_incremental(corpus, args.jobs, work, work) if run == "incremental"
                        else run_baselines(corpus, min(args.baseline_records, args.records), work, work,
                                           baseline_processes))
                for row in rows:
                    if "error" in row:
                        print(f"{row['name']} failed (exit {row['exit']}):\n{row['error']}", file=sys.stderr)
                results.extend(rows)
                continue
            else:
                formats = list(FORMATS) if run == "all" else run.split("+")
                result = run_convert(corpus, formats, args.jobs, work, work, args.repeat)
            if "error" in result:
                print(f"{result['name']} failed (exit {result['exit']}):\n{result['error']}", file=sys.stderr)
            results.append(result)

    broken = len(manifest.get("broken", {}))
    conv = next((r for r in results if r["name"].startswith("convert") and "error" not in r), None)
    shown = os.path.relpath(corpus) if not os.path.relpath(corpus).startswith("..") else str(corpus)
    print(f"corpus: {shown} ({manifest['records']} records: {manifest['layouts'].get('inline', 0)} inline, "
          f"{manifest['layouts'].get('tsv', 0)} TSV layout, {manifest['companion_files']} companion TSVs, "
          f"{broken} broken; seed {manifest['seed']})")
    if conv:
        print(f"converter: {conv['converted']} converted, {conv['rejected']} rejected "
              f"(corpus has {broken} broken), {conv['warnings']} warnings, {conv['triples']:,} triples; "
              f"--jobs {args.jobs if args.jobs is not None else 'default'} on {os.cpu_count()} CPUs")
    print(f"python {platform.python_version()} on {platform.platform()}; build: {build}")
    load_end = os.getloadavg()
    print("load average (1, 5, 15 min) at start " + ", ".join(f"{v:.2f}" for v in load_start) + "; end "
          + ", ".join(f"{v:.2f}" for v in load_end))
    print()
    print(table(results))
    plain = next((r for r in results if r["name"] == "convert nt" and "error" not in r), None)
    checked = next((r for r in results if r["name"] == "convert nt --validate" and "error" not in r), None)
    if checked:
        v = checked.get("validation") or {}
        print(f"\nconvert --validate: {v.get('violations')} violations, {v.get('warnings')} warnings")
        if plain and checked["wall_s"] > plain["wall_s"]:
            extra = checked["wall_s"] - plain["wall_s"]
            print(f"streaming validation: {checked['converted'] / extra:,.0f} figures/s "
                  f"({extra:.1f} s on top of convert nt); convert+validate end to end "
                  f"{checked['converted'] / checked['wall_s']:,.0f} figures/s")
        for r in results:
            if r["name"].startswith("validate --engine") and "error" not in r:
                print(f"{r['name']}: {r['records'] / r['wall_s']:,.0f} figures/s end to end ({r['wall_s']:.1f} s, "
                      f"peak RSS {r.get('peak_rss_bytes', 0) / 2**20:,.0f} MiB)")
        print(check_against_pyshacl(Path(args.shared) if args.shared else ROOT.parent / "shared" / "pfocr"))
    print()
    for line in ratios(results):
        print(line)

    if args.json:
        data = {
            "corpus": str(corpus), "records": manifest["records"], "seed": manifest["seed"],
            "jobs": args.jobs, "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "build": build, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "loadavg_start": list(load_start), "loadavg_end": list(load_end),
            "results": [{k: v for k, v in r.items() if k not in ("stdout", "stderr")} for r in results],
        }
        for r in data["results"]:
            if r.get("wall_s"):
                r["records_per_s"] = r["records"] / r["wall_s"] if r.get("records") else None
                r["triples_per_s"] = r["triples"] / r["wall_s"] if r.get("triples") else None
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    if any("error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
