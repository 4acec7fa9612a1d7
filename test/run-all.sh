#!/usr/bin/env bash
# The one test command: prepares this host where anything is missing (Debian packages, dockerd,
# Compose v2, stand-in images, the test PostgreSQL and Redis), installs npm dependencies, builds,
# then runs the unit, integration and end-to-end suites against the real parts.
# Usage: bash test/run-all.sh            (from the repository root; as root on a fresh machine)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start )) s)"; }

step "prepare host"
bash test/setup/prepare-host.sh
step "npm ci"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
step "build"
npm run --silent build
npx tsc -p tsconfig.test.json
step "lint (Biome)"
# Errors only here (an unformatted file, a lint error); `npm run lint` also lists the warnings.
npx biome ci --diagnostic-level=error .
step "test services (PostgreSQL, Redis)"
eval "$(bash test/setup/services.sh)"
step "unit tests"
npm test --silent
step "integration tests"
npm run --silent test:integration
step "end-to-end tests"
# One file at a time: two side by side (mocha --parallel --jobs 2) took the suite from about 30 to
# 23 minutes, but on 2 CPUs the contention made timing-bound steps flaky (a late nginx log flush,
# an alert outlasting its test sessions, once a hook that never returned).
npm run --silent test:e2e
step "all suites passed"
