#!/usr/bin/env python3
"""Where a conversion worker's time goes: each stage of converting one record, in ms per record.

    python benchmarks/bench_stages.py [-n 20000] [--seed 1] [--records 3000] [--json FILE]
    python benchmarks/bench_stages.py --corpus examples/pfocr

Takes the first ``--records`` pages (in figid order) of the corpus ``bench_convert.py`` uses (building it when
missing), or of any folder of records given as ``--corpus``, and converts them twice in this one process, as a
worker does: read (``read_record``: the front matter and
the companion TSVs), model (``build_figure``), mapping (``figure_blocks``), then serialising the blocks into each
dump format alone and into all five at once (``serialize``, and ``encode`` into bytes). The second pass is timed, a
stage at a time around each record, so the memos are as warm as in a long run and nothing is held between records.
Records the reader or the model rejects count in the stages they reached. The figures are for reading and
comparing; nothing here asserts on them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_convert import ensure_corpus

from converter.pipeline.worklist import WorkList
from converter.rdf.formats import FORMATS
from converter.rdf.mapping import figure_blocks
from converter.rdf.vocab import GRAPH
from converter.rdf.writers import encode, serialize
from converter.records.identifiers import Registry
from converter.records.model import build_figure
from converter.records.sources import RecordError, iter_sources, peek_figid, read_record

SERIALISATIONS = [(fmt,) for fmt in FORMATS] + [FORMATS]


def _pages(corpus: Path, count: int) -> list:
    problems: list = []
    with WorkList() as work:
        for source in iter_sources([str(corpus)], problems):
            work.add(source, peek_figid(source))
        pages = [source for group, _ in work.groups() for source in group]
    return pages[:count]


def measure(pages: list) -> dict[str, float]:
    """Seconds spent in each stage over ``pages``, converted one at a time."""
    ids = Registry("slash")
    spent = dict.fromkeys(["read", "model", "mapping", *("serialise " + "+".join(f) for f in SERIALISATIONS)], 0.0)
    clock = time.perf_counter
    for source in pages:
        start = clock()
        try:
            raw = read_record(source)
        except RecordError:
            spent["read"] += clock() - start
            continue
        read = clock()
        spent["read"] += read - start
        try:
            fig, _ = build_figure(raw)
        except RecordError:
            spent["model"] += clock() - read
            continue
        built = clock()
        spent["model"] += built - read
        blocks = figure_blocks(fig, ids)
        mapped = clock()
        spent["mapping"] += mapped - built
        for formats in SERIALISATIONS:
            begin = clock()
            for block in blocks:
                payload = serialize(block.triples, formats, GRAPH)
                for fmt in formats:
                    encode(fmt, payload[fmt])
            spent["serialise " + "+".join(formats)] += clock() - begin
    return spent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--corpus-records", type=int, default=20000, help="corpus size (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--corpus", help="a folder of records (default: the generated corpus "
                                         "benchmarks/corpus/pfocr-n<N>-s<SEED>, built when missing)")
    parser.add_argument("--shared", help="shared PFOCR data for building the corpus (default ../shared/pfocr)")
    parser.add_argument("--records", type=int, default=3000, help="pages to convert (default 3000)")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.corpus:
        corpus = Path(args.corpus)
    else:
        corpus = HERE / "corpus" / f"pfocr-n{args.corpus_records}-s{args.seed}"
        ensure_corpus(corpus, args.corpus_records, args.seed, args.shared)
    pages = _pages(corpus, args.records)
    measure(pages)  # warms the memos, as the first of a worker's many records do
    spent = measure(pages)
    per_record = {stage: seconds * 1000 / len(pages) for stage, seconds in spent.items()}
    print(f"corpus: {corpus} (first {len(pages)} pages in figid order)")
    print(f"python {sys.version.split()[0]}")
    print(f"{'stage':<28}  ms per record")
    print(f"{'-' * 28}  -------------")
    for stage, ms in per_record.items():
        print(f"{stage:<28}  {ms:13.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"corpus": str(corpus), "pages": len(pages),
                                               "ms_per_record": per_record}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
