#!/usr/bin/env bash
# Carebox installer from source (development, CI, lab machines). Hospital servers use a release
# instead: `npm run release` makes a launcher and an offline bundle that need only Docker (README.md,
# "Quick start: a hospital server").
#
#   ./install.sh [--prepare-host] [carebox install options...]
#
# 1. Checks the prerequisites and names exactly what is missing and how to get it:
#    Node.js >= 20 with npm, a reachable Docker engine, Docker Compose, and root or the docker group.
# 2. Installs the npm dependencies (when missing or outdated) and builds Carebox.
# 3. Runs `carebox install`, passing every other argument through (see README.md, "CLI").
#
# --prepare-host (lab and test machines only, as root): first installs Docker, Compose v2 and the
#   other Debian packages, starts dockerd, and builds local stand-in images from Debian packages
#   (test/images/images.standin.json) for hosts that reach no container registry.
#
# Exit codes follow the CLI contract: 0 ok, 1 failed, 2 usage, 3 prerequisites/preflight failed,
# 4 the stack did not become healthy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

prepare=0
args=()
for a in "$@"; do
  case "$a" in
    --prepare-host) prepare=1 ;;
    *) args+=("$a") ;;
  esac
done

say() { echo "install.sh: $*" >&2; }

if [ "$prepare" = 1 ]; then
  say "preparing this host (packages, dockerd, Compose v2, stand-in images)"
  bash test/setup/prepare-host.sh >&2
fi

missing=()
if ! command -v node >/dev/null 2>&1; then
  missing+=("Node.js 20 or newer is not installed: on Debian 12 use NodeSource's node_20.x repository (apt-get install nodejs), or the Node.js 20 tarball from nodejs.org")
else
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$node_major" -lt 20 ]; then
    missing+=("Node.js $(node --version) is too old: Carebox needs Node.js 20 or newer (NodeSource node_20.x, or nodejs.org)")
  fi
  command -v npm >/dev/null 2>&1 || missing+=("npm is missing: it ships with Node.js (apt-get install nodejs from NodeSource includes it)")
fi

if ! command -v docker >/dev/null 2>&1; then
  missing+=("the Docker CLI and engine are not installed: apt-get install docker.io, then start it (systemctl start docker)")
else
  if ! docker_err="$(docker version --format '{{.Server.Version}}' 2>&1 >/dev/null)"; then
    if echo "$docker_err" | grep -qi 'permission denied'; then
      missing+=("no permission on the Docker socket: run as root, or add your user to the docker group (usermod -aG docker \"\$USER\") and log in again")
    else
      missing+=("the Docker engine is not reachable ($(echo "$docker_err" | head -n1)): start it (systemctl start docker, or dockerd)")
    fi
  fi
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    missing+=("Docker Compose is missing: install the Compose v2 plugin (Debian 13's docker-compose package, or Docker's docker-compose-plugin); on Debian 12 see README.md, 'Prerequisites'")
  fi
fi

if [ "$(id -u)" != 0 ] && ! id -nG | tr ' ' '\n' | grep -qx docker; then
  missing+=("run as root or as a member of the docker group (sudo ./install.sh ..., or usermod -aG docker \"\$USER\")")
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "cannot install; missing prerequisites:"
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  say "on a lab machine with Debian's archive reachable, ./install.sh --prepare-host ... sets them up"
  say "on a server with only Docker (no Node.js, no network), install from a release instead: carebox-<version>.sh install --bundle carebox-bundle-<version>.tar.gz (README.md)"
  exit 3
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
say "building Carebox"
# Everything before carebox itself goes to stderr: stdout is carebox's (one JSON document with --json).
npm run --silent build >&2

exec node dist/console/cli.js install "${args[@]}"
