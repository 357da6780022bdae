"""pgdata: training-ready datasets for pose-guided person image generation and virtual try-on."""

__version__ = "0.1.0"

__all__ = ["__version__"]
