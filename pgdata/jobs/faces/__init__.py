"""Face inpainting jobs (DMFN): the procedural faces sample, ``build`` of face shards (centre crop,
resize) and ``masks`` (the fixed evaluation mask set)."""
