#!/usr/bin/env bash
# Builds local stand-ins for the official postgres, redis, nginx and node images (and PgBouncer), for machines
# that reach no container registry (this CI, air-gapped labs). One Debian 12 rootfs is made with
# mmdebstrap from Debian's archive and imported; each stand-in is a Dockerfile target on top of it.
# Cached by tag: an image whose carebox.standin.hash label matches this script's inputs is kept.
# Usage: test/images/build-standins.sh [--force]    Writes test/images/images.standin.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="${STANDIN_SUITE:-bookworm}"
mirror="${STANDIN_MIRROR:-http://deb.debian.org/debian}"
packages="postgresql-15,redis-server,nginx,pgbouncer,curl,ca-certificates,libstdc++6,procps,netcat-openbsd"
force="${1:-}"

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-standins: '$1' is missing ($2)" >&2; exit 1; }; }
need docker "apt-get install docker.io"
need mmdebstrap "apt-get install mmdebstrap"
need node "install Node.js 20"

node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
hash="$( { cat "$here/Dockerfile.standin" "$here/postgres-entrypoint.sh" "$0"; echo "$suite $packages"; \
  "$node_bin" --version; } | sha256sum | cut -c1-16)"

base_tag="carebox-standin/debian:${suite}-${hash}"
declare -A tags=(
  [postgres]="carebox-standin/postgres:15"
  [redis]="carebox-standin/redis:7"
  [nginx]="carebox-standin/nginx:1.22"
  [node]="carebox-standin/node:20"
  [pgbouncer]="carebox-standin/pgbouncer:1"
)

label_of() { docker image inspect -f '{{ index .Config.Labels "carebox.standin.hash" }}' "$1" 2>/dev/null || true; }

all_fresh=1
for t in "${tags[@]}"; do [ "$(label_of "$t")" = "$hash" ] || all_fresh=0; done
if [ "$all_fresh" = 1 ] && [ "$force" != "--force" ]; then
  echo "build-standins: stand-in images are current (hash $hash)" >&2
else
  if ! docker image inspect "$base_tag" >/dev/null 2>&1 || [ "$force" = "--force" ]; then
    echo "build-standins: building Debian $suite rootfs with mmdebstrap (a few minutes)" >&2
    mmdebstrap --quiet --variant=minbase --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      "$suite" - "$mirror" | docker import - "$base_tag" >/dev/null
  fi
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' EXIT
  cp "$here/Dockerfile.standin" "$here/postgres-entrypoint.sh" "$ctx/"
  cp "$node_bin" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  for target in postgres redis nginx pgbouncer node; do
    echo "build-standins: ${tags[$target]}" >&2
    if ! out="$(DOCKER_BUILDKIT=0 docker build -q -f "$ctx/Dockerfile.standin" --target "$target" \
      --build-arg BASE="$base_tag" --label carebox.standin.hash="$hash" \
      -t "${tags[$target]}" "$ctx" 2>&1)"; then
      echo "$out" >&2; exit 1
    fi
  done
fi

cat > "$here/images.standin.json" <<JSON
{
  "postgres": "${tags[postgres]}",
  "redis": "${tags[redis]}",
  "nginx": "${tags[nginx]}",
  "pgbouncer": "${tags[pgbouncer]}",
  "node": "${tags[node]}"
}
JSON
echo "build-standins: wrote $here/images.standin.json" >&2
