# Two commands set everything up on a fresh machine:
#   make run    installs everything and opens `companion chat` on the embedded default model
#   make test   installs everything and runs the whole test suite
.PHONY: install run test lint bench

install:
	@bash scripts/install.sh

run: install
	@.venv/bin/companion chat

test: install
	@bash scripts/test.sh

lint: install
	@bash scripts/lint.sh

bench: install
	@for b in bench/*.py; do .venv/bin/python $$b || exit 1; done
