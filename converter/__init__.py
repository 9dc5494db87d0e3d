"""Convert Pathway Figure OCR (PFOCR) figure records to RDF.

    >>> from converter import convert
    >>> report = convert(["examples/pfocr"], output="output", formats=["ttl", "nt"])   # doctest: +SKIP
    >>> print(report.summary())                                                        # doctest: +SKIP
    8 records read: 8 converted, 0 rejected; 512 triples; 3 warnings; 0.4 s
"""

from .pipeline.convert import ConvertError, Issue, Report, convert
from .rdf import terms as _terms
from .rdf.formats import FORMATS

__version__ = "0.1.0"
# whether this installation runs the per-record path compiled by mypyc (a wheel) or as Python source (setup.py)
COMPILED = not _terms.__file__.endswith(".py")
__all__ = ["COMPILED", "FORMATS", "ConvertError", "Issue", "Report", "__version__", "convert"]
