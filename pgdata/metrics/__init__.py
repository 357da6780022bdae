"""Evaluation metrics under the published pose-transfer / try-on protocols.

Pure functions on batched tensors, one module per metric family, each protocol a named preset
(:mod:`pgdata.metrics.presets`): ``psnr``, ``ssim_patn``, ``ssim_gfla51`` (:mod:`.psnr`,
:mod:`.ssim`), ``fid_tf``, ``fid_legacy_gfla`` (:mod:`.fid` numerics, :mod:`.fid_features`
networks), ``lpips_alex`` (:mod:`.lpips`), ``pckh`` (:mod:`.pckh`), ``params`` and ``speed``
(:mod:`.speed`); :mod:`.pairwise` computes PSNR and both SSIMs in one pass. :mod:`.folders` scores
two folders of images matched by file name (:mod:`.folders_setup` builds the per-preset
:mod:`.evaluators`) and :mod:`.report` writes ``metrics.json``, ``metrics.csv`` and ``index.html``
(:mod:`.report_html`); published reference rows live in ``data/published.csv``.

Pretrained weights are never downloaded: they come from user paths through
:mod:`pgdata.io.weights`, sha256-checked. Submodules are imported on demand (``import
pgdata.metrics.ssim``); this package imports nothing heavy.
"""
