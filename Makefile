# The two commands: `make demo` and `make test`. Each creates .venv and installs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench bench-import bench-xlsx bench-map bench-sweep bench-monev bench-campaigns bench-field clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pesiar demo

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/generate.py

bench-import: $(STAMP)
	$(BIN)/python bench/import_population.py

bench-xlsx: $(STAMP)
	$(BIN)/python bench/import_opensid_xlsx.py --openpyxl

bench-map: $(STAMP)
	$(BIN)/python bench/map.py

bench-sweep: $(STAMP)
	$(BIN)/python bench/sweep.py

bench-monev: $(STAMP)
	$(BIN)/python bench/load_monev.py

bench-campaigns: $(STAMP)
	$(BIN)/python bench/campaigns.py
bench-field: $(STAMP)
	$(BIN)/python bench/load_field.py --database sqlite
	$(BIN)/python bench/load_field.py --database postgres

clean:
	rm -rf $(VENV) var build src/*.egg-info
