"""Publishing into external triplestores (``pfocr-rdf publish``): the dumps go in request-sized batches over the
standard protocols, or through Virtuoso's own bulk loader, and replace a graph so that readers never see a part.

    >>> from converter.publish import publish
    >>> report = publish(["output/pfocr.nt"], "http://127.0.0.1:7878/store")       # doctest: +SKIP
    >>> report.triples, report.verified                                              # doctest: +SKIP
    (1650, True)

:mod:`.replace` holds the procedure, :mod:`.virtuoso` what Virtuoso needs instead of a ``MOVE``; :mod:`.target`,
:mod:`.batches` and :mod:`.client` the pieces beneath; :mod:`.progress` the progress bar.
"""

from .client import STORE_KINDS, Protocol, PublishError, PublishReport, StoreKind, redact, services
from .replace import publish

__all__ = ["STORE_KINDS", "Protocol", "PublishError", "PublishReport", "StoreKind", "publish", "redact", "services"]
