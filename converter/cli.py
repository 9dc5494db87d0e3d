"""The ``pfocr-rdf`` command line: each command is a thin wrapper over a documented function of the package.

User errors become one clear message on standard error and a non-zero exit status, never a traceback.
Exit status: 0 success, 1 the command ran but found problems (``--strict``), 2 usage or input error.
"""

from __future__ import annotations

import sys

import click

from . import __version__
from .pipeline import ConvertError, convert
from .writers import FORMATS


class _Formats(click.ParamType):
    name = "FORMATS"

    def convert(self, value, param, ctx):  # noqa: D102 - click API
        if isinstance(value, list):
            return value
        items = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in items if v not in FORMATS]
        if bad or not items:
            self.fail(f"{', '.join(bad) or value!r} is not a format; choose from {', '.join(FORMATS)}", param, ctx)
        return items


def _fail(message: str, status: int = 2) -> None:
    """A user error: one line on standard error, no traceback."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(status)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pfocr-rdf")
def main() -> None:
    """Publish Pathway Figure OCR (PFOCR) figure records as linked data."""


@main.command("convert")
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", default="output", show_default=True,
              help="Folder for the dumps, void.ttl and report.json; '-' streams one format to standard output.")
@click.option("-f", "--format", "formats", type=_Formats(), default=",".join(FORMATS), show_default=True,
              help="Comma-separated dumps to write: ttl, nt, nq, jsonld.")
@click.option("--iri-style", type=click.Choice(["slash", "colon"]), default="slash", show_default=True,
              help="identifiers.org form of entity IRIs (the other form is linked with schema:sameAs).")
@click.option("-j", "--jobs", type=click.IntRange(1), default=None,
              help="Worker processes (default: one per core). Output is identical for any value.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any record is rejected.")
def convert_command(paths, output, formats, iri_style, jobs, strict):
    """Convert PFOCR figure records to RDF dumps.

    PATHS are PFOCR checkouts (folders holding _figures/ and _data/), folders of figure pages, single .md files,
    or - for one record on standard input.

    \b
    Examples:
      pfocr-rdf convert examples/pfocr
      pfocr-rdf convert ../pfocr-database -o build --format nt,ttl
      cat PMC7957022__fcell-09-641469-g005.md | pfocr-rdf convert - -o - --format ttl
    """
    try:
        report = convert(paths, output=output, formats=formats, iri_style=iri_style, jobs=jobs,
                         progress=sys.stderr.isatty())
    except ConvertError as err:
        _fail(str(err))
    except OSError as err:
        _fail(f"{err.filename or ''}: {err.strerror}")
    for issue in report.rejected[:20]:
        click.echo(f"rejected: {issue}", err=True)
    if len(report.rejected) > 20:
        click.echo(f"... and {len(report.rejected) - 20} more rejected records (see report.json)", err=True)
    click.echo(report.summary(), err=output == "-")
    if strict and report.records_rejected:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
