# Every target installs what it needs into .venv first (idempotent: reinstalls only when
# pyproject.toml or constraints.txt changed). The build backend (hatchling) goes into .venv too,
# so `make wheel` and the wheel test build offline.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
DEMO   := demo-out

.PHONY: install demo test test-browser lint typecheck format bench wheel clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt 'hatchling>=1.21'
	$(PIP) install --quiet -c constraints.txt -e '.[dev,mediapipe,dask,onnx]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pgdata sample --out $(DEMO)/inshop
	$(VENV)/bin/pgdata build-pairs --dataset deepfashion --source $(DEMO)/inshop --out $(DEMO)/pairs --images 256x176
	$(VENV)/bin/pgdata preview pairs $(DEMO)/pairs --out $(DEMO)/pairs.html
	$(VENV)/bin/pgdata build --recipe deepfashion --source $(DEMO)/pairs --out $(DEMO)/shards --overwrite
	$(VENV)/bin/pgdata verify $(DEMO)/shards
	$(VENV)/bin/pgdata info $(DEMO)/shards
	$(VENV)/bin/pgdata sample --out $(DEMO)/tryon --kind tryon
	$(VENV)/bin/pgdata tryon $(DEMO)/tryon --recipe viton-hd --profile
	$(VENV)/bin/pgdata preview tryon $(DEMO)/tryon --out $(DEMO)/tryon.html
	$(VENV)/bin/pgdata build --recipe viton-hd --source $(DEMO)/tryon --out $(DEMO)/tryon-shards --overwrite
	$(VENV)/bin/pgdata info $(DEMO)/tryon-shards
	rm -rf $(DEMO)/shop $(DEMO)/garments
	$(VENV)/bin/pgdata demo-shop --out $(DEMO)/shop --crawl
	$(VENV)/bin/pgdata garments $(DEMO)/shop/crawl --out $(DEMO)/garments --size 512x384
	$(VENV)/bin/pgdata verify $(DEMO)/garments/shards
	rm -rf $(DEMO)/run
	$(VENV)/bin/pgdata train --config tiny --source $(DEMO)/shards --out $(DEMO)/run --device cpu
	$(VENV)/bin/pgdata sample --out $(DEMO)/facades --kind aligned --ids 16 --size 64x64
	$(VENV)/bin/pgdata build --recipe aligned --source $(DEMO)/facades --out $(DEMO)/aligned-shards --overwrite
	$(VENV)/bin/pgdata sample --out $(DEMO)/faces --kind faces --ids 16 --size 64x64
	$(VENV)/bin/pgdata build --recipe faces --source $(DEMO)/faces --out $(DEMO)/face-shards --image-size 64x64 --overwrite
	$(VENV)/bin/pgdata masks --n 100 --size 64 --out $(DEMO)/masks --overwrite
	rm -rf $(DEMO)/run-patn $(DEMO)/run-pix2pix $(DEMO)/run-dmfn
	$(VENV)/bin/pgdata train --config tiny-patn --source $(DEMO)/shards --out $(DEMO)/run-patn --device cpu
	$(VENV)/bin/pgdata train --config tiny-pix2pix --source $(DEMO)/aligned-shards --out $(DEMO)/run-pix2pix --device cpu
	$(VENV)/bin/pgdata train --config tiny-dmfn --source $(DEMO)/face-shards --out $(DEMO)/run-dmfn --device cpu --set mask_set=$(DEMO)/masks
	$(VENV)/bin/pgdata eval --run $(DEMO)/run --source $(DEMO)/shards --out $(DEMO)/eval --device cpu --pad-white 256 --speed
	$(VENV)/bin/pgdata eval --run $(DEMO)/run-dmfn --source $(DEMO)/face-shards --out $(DEMO)/eval-dmfn --device cpu --mask-set $(DEMO)/masks
	@echo "demo outputs:"
	@echo "  sample In-shop tree   $(DEMO)/inshop"
	@echo "  pair lists + images   $(DEMO)/pairs"
	@echo "  contact sheet         $(DEMO)/pairs.html"
	@echo "  HDF5 shards           $(DEMO)/shards (manifest.json, train-*.h5, test-*.h5)"
	@echo "  try-on dataset        $(DEMO)/tryon (test/, test_pairs.txt, profile.json)"
	@echo "  try-on preview        $(DEMO)/tryon.html"
	@echo "  try-on shards         $(DEMO)/tryon-shards"
	@echo "  demo shop crawl       $(DEMO)/shop/crawl (fixture_shop/items.jsonl, files/, crawl-report.json)"
	@echo "  garment set + shards  $(DEMO)/garments (cloth/, cloth-mask/, garments.jsonl, shards/)"
	@echo "  training run          $(DEMO)/run (config.json, ckpt-*.pt, log.jsonl, samples/*.png, tb/)"
	@echo "  evaluation report     $(DEMO)/eval/index.html (metrics.json, generated/, target/; inpainting: $(DEMO)/eval-dmfn/index.html)"
	@echo "  more families         $(DEMO)/run-patn, $(DEMO)/run-pix2pix (facades-like A|B), $(DEMO)/run-dmfn (faces + masks)"

lint: $(STAMP)
	$(VENV)/bin/ruff check pgdata tests benchmarks cli.py
	$(VENV)/bin/ruff format --check pgdata tests benchmarks cli.py

typecheck: $(STAMP)
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format pgdata tests benchmarks cli.py
	$(VENV)/bin/ruff check --fix pgdata tests benchmarks cli.py

test: lint typecheck
	$(VENV)/bin/pytest

# the browser-marked tests (the HTML report in headless Chromium); installs Debian's chromium when missing
test-browser: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }
	$(VENV)/bin/pytest -m browser

bench: $(STAMP)
	$(PY) benchmarks/bench_heatmaps.py
	$(PY) benchmarks/bench_pairs.py
	$(PY) benchmarks/bench_loader.py
	$(PY) benchmarks/bench_build.py
	$(PY) benchmarks/bench_agnostic.py
	$(PY) benchmarks/bench_crawl.py
	$(PY) benchmarks/bench_eval.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_scale.py

# dist/pgdata-<version>-py3-none-any.whl: pgdata plus the bundled pipelines/, crawlers/, train/
wheel: $(STAMP)
	$(PIP) wheel --quiet --no-deps --no-build-isolation -w dist .

clean:
	rm -rf $(DEMO) dist .pytest_cache .mypy_cache .ruff_cache
