"""Convert Pathway Figure OCR (PFOCR) figure records to RDF.

    >>> from converter import convert
    >>> report = convert(["examples/pfocr"], output="output", formats=["ttl", "nt"])   # doctest: +SKIP
    >>> print(report.summary())                                                        # doctest: +SKIP
    8 records read: 8 converted, 0 rejected; 512 triples; 3 warnings; 0.4 s
"""

from .pipeline.convert import ConvertError, Issue, Report, convert
from .rdf.formats import FORMATS

__version__ = "0.1.0"
__all__ = ["FORMATS", "ConvertError", "Issue", "Report", "__version__", "convert"]
