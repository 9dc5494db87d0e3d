"""The conversion: the work list of record files, the worker tasks, their schedule, the report, the last build's
index for incremental rebuilds, and :func:`convert`, which runs them all."""
