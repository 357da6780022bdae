"""Try-on jobs: the VITON-HD / HR-VITON preprocessing stages, their pipeline, sample, preview and shards.

:mod:`~pgdata.jobs.tryon.common` holds what the stages share (item loop, resume, quarantine).
"""
