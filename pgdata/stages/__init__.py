"""Pure array kernels: no paths, no printing, randomness only through an explicit seed or rng."""
