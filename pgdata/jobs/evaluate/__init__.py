"""Evaluation and export jobs: ``pgdata eval`` and ``pgdata export``.

- :mod:`.common`: the scoring options both eval modes share, the report folder rules, the result;
- :mod:`.folders`: score two folders of images (``pgdata eval --pred DIR --gt DIR``);
- :mod:`.model`: generate a trained model's test outputs, then score them (``pgdata eval --run``);
- :mod:`.speed`: images/s of the generator, PyTorch eager and ONNX Runtime (``--speed``);
- :mod:`.export`: the generator alone as ONNX or TorchScript (``pgdata export``).

The metrics come from :mod:`pgdata.metrics`, the generators from :mod:`pgdata.training`.
"""
