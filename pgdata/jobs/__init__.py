"""Jobs: one frozen config and one ``run_*(cfg)`` per command, joining io and stage kernels.

Three domains that never import each other: :mod:`pgdata.jobs.posetransfer` (In-shop /
Market-1501 pairs and shards), :mod:`pgdata.jobs.tryon` (VITON-HD / HR-VITON preprocessing and
shards) and :mod:`pgdata.jobs.garments` (crawling stores and turning their packshots into a
garment set). What two domains share lives lower down, in ``io``, ``stages`` or ``shards``.
"""
