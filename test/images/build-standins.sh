#!/usr/bin/env bash
# Builds local stand-ins for the official postgres, redis, nginx and node images (and PgBouncer), for machines
# that reach no container registry (this CI, air-gapped labs). One Debian 12 rootfs is made with
# mmdebstrap from Debian's archive and imported; each stand-in is a Dockerfile target on top of it.
# nginx is the exception: the edge needs `resolve` on `upstream` servers (nginx >= 1.27.3; Debian 12
# has 1.22, Debian 13 has 1.26), so its stand-in is the same Dockerfile target on a second rootfs
# from Debian forky, which packages nginx 1.30.
# Cached by tag: an image whose carebox.standin.hash label matches its inputs is kept.
# Usage: test/images/build-standins.sh [--force] [--only nginx]    Writes test/images/images.standin.json.
#   STANDIN_PREFIX=name  tag the images name/postgres:15 … instead of carebox-standin/… (a build from
#                        scratch beside the shared tags); STANDIN_OUT=file writes the JSON there.
#   --only nginx   (re)build only the nginx stand-in; the other tags must exist already.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="${STANDIN_SUITE:-bookworm}"
edge_suite="${STANDIN_EDGE_SUITE:-forky}"
mirror="${STANDIN_MIRROR:-http://deb.debian.org/debian}"
# nginx stays in the bookworm rootfs: Debian 12's nginx 1.22 is built as carebox-standin/nginx:1.22, a
# real nginx older than the edge needs, for the test that upgrade and preflight refuse it.
packages="postgresql-15,redis-server,nginx,pgbouncer,curl,ca-certificates,libstdc++6,procps,netcat-openbsd"
edge_packages="nginx,curl,ca-certificates,procps"
# The oldest nginx whose open-source `upstream` servers take `resolve` (keep in step with
# MIN_NGINX_VERSION in installer/plan/sizing.constants.ts).
edge_min_version="1.27.3"
force=""
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force="--force" ;;
    --only) only="${2:-}"; shift ;;
    *) echo "usage: build-standins.sh [--force] [--only nginx]" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$only" ] && [ "$only" != nginx ]; then echo "build-standins: --only takes 'nginx'" >&2; exit 2; fi

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-standins: '$1' is missing ($2)" >&2; exit 1; }; }
need docker "apt-get install docker.io"
need mmdebstrap "apt-get install mmdebstrap"
need node "install Node.js 20"

node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
hash="$( { cat "$here/Dockerfile.standin" "$here/postgres-entrypoint.sh" "$0"; echo "$suite $packages"; \
  "$node_bin" --version; } | sha256sum | cut -c1-16)"

# The nginx stand-in's own hash: the Dockerfile and the forky package set, not this script, so a
# change to the bookworm images does not rebuild it (and the other way round).
edge_hash="$( { cat "$here/Dockerfile.standin"; echo "$edge_suite $edge_packages"; } | sha256sum | cut -c1-16)"

prefix="${STANDIN_PREFIX:-carebox-standin}"
out_json="${STANDIN_OUT:-$here/images.standin.json}"
base_tag="${prefix}/debian:${suite}-${hash}"
edge_base_tag="${prefix}/debian:${edge_suite}-${edge_hash}"
declare -A tags=(
  [postgres]="${prefix}/postgres:15"
  [redis]="${prefix}/redis:7"
  [nginx]="${prefix}/nginx:1.30"
  [nginx-old]="${prefix}/nginx:1.22"
  [node]="${prefix}/node:20"
  [pgbouncer]="${prefix}/pgbouncer:1"
)
bookworm_targets=(postgres redis pgbouncer node)

label_of() { docker image inspect -f '{{ index .Config.Labels "carebox.standin.hash" }}' "$1" 2>/dev/null || true; }

# Builds Dockerfile target $1 on base image $2 with hash label $3, tagged tags[$5] (default tags[$1]).
build_target() {
  local target="$1" base="$2" label="$3" ctx="$4" name="${5:-$1}" out
  echo "build-standins: ${tags[$name]}" >&2
  if ! out="$(DOCKER_BUILDKIT=0 docker build -q -f "$ctx/Dockerfile.standin" --target "$target" \
    --build-arg BASE="$base" --label carebox.standin.hash="$label" \
    -t "${tags[$name]}" "$ctx" 2>&1)"; then
    echo "$out" >&2; exit 1
  fi
}

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile.standin" "$here/postgres-entrypoint.sh" "$ctx/"

# nginx from Debian forky (its Release file may be past Valid-Until on a mirror: forky is a
# rolling suite, so the check is off for this rootfs only).
if [ "$(label_of "${tags[nginx]}")" = "$edge_hash" ] && [ "$force" != "--force" ]; then
  echo "build-standins: ${tags[nginx]} is current (hash $edge_hash)" >&2
else
  if ! docker image inspect "$edge_base_tag" >/dev/null 2>&1 || [ "$force" = "--force" ]; then
    echo "build-standins: building Debian $edge_suite rootfs for nginx with mmdebstrap" >&2
    mmdebstrap --quiet --variant=minbase --include="$edge_packages" \
      --aptopt='Acquire::Check-Valid-Until "false"' \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      "$edge_suite" - "$mirror" | docker import - "$edge_base_tag" >/dev/null
  fi
  build_target nginx "$edge_base_tag" "$edge_hash" "$ctx"
fi
edge_version="$(docker run --rm --entrypoint nginx "${tags[nginx]}" -v 2>&1 | sed -n 's|.*nginx/\([0-9.]*\).*|\1|p')"
if [ "$(printf '%s\n%s\n' "$edge_min_version" "$edge_version" | sort -V | head -1)" != "$edge_min_version" ]; then
  echo "build-standins: ${tags[nginx]} has nginx '${edge_version}', the edge needs >= $edge_min_version" >&2; exit 1
fi

all_fresh=1
for t in "${bookworm_targets[@]}" nginx-old; do [ "$(label_of "${tags[$t]}")" = "$hash" ] || all_fresh=0; done
if [ "$only" = nginx ]; then
  for t in "${bookworm_targets[@]}"; do
    docker image inspect "${tags[$t]}" >/dev/null 2>&1 || { echo "build-standins: ${tags[$t]} is missing; run without --only" >&2; exit 1; }
  done
elif [ "$all_fresh" = 1 ] && [ "$force" != "--force" ]; then
  echo "build-standins: stand-in images are current (hash $hash)" >&2
else
  if ! docker image inspect "$base_tag" >/dev/null 2>&1 || [ "$force" = "--force" ]; then
    echo "build-standins: building Debian $suite rootfs with mmdebstrap (a few minutes)" >&2
    mmdebstrap --quiet --variant=minbase --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      "$suite" - "$mirror" | docker import - "$base_tag" >/dev/null
  fi
  cp "$node_bin" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  for target in "${bookworm_targets[@]}"; do build_target "$target" "$base_tag" "$hash" "$ctx"; done
  build_target nginx "$base_tag" "$hash" "$ctx" nginx-old
fi

cat > "$out_json" <<JSON
{
  "postgres": "${tags[postgres]}",
  "redis": "${tags[redis]}",
  "nginx": "${tags[nginx]}",
  "pgbouncer": "${tags[pgbouncer]}",
  "node": "${tags[node]}"
}
JSON
echo "build-standins: wrote $out_json" >&2
