"""Jobs: one ``run(config)`` per command, joining io readers/writers and stage kernels."""
