#!/usr/bin/env bash
# Builds carebox-standin/docker-cli:1, a stand-in for the official docker:<version>-cli image (the
# DOCKER_CLI_IMAGE of cli/Dockerfile) for machines that reach no registry: this host's Docker CLI
# (Debian's docker.io) at /usr/local/bin/docker and its Compose v2 plugin (from Debian 13's
# docker-compose package, installed by prepare-host.sh) at /usr/local/libexec/docker/cli-plugins/.
# The binaries link against Debian 12's libc, like the node stand-in they are copied onto.
# Cached: an image whose carebox.standin.hash label matches the binaries and this script is kept.
# Merges `dockerCli` into test/images/images.standin.json (written by build-standins.sh, which runs
# first): a source install with that images file builds its scheduler's CLI image on this stand-in.
# Usage: test/images/build-cli-standin.sh [--force]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_json="${STANDIN_OUT:-$here/images.standin.json}"
tag="carebox-standin/docker-cli:1"
# Debian's docker.io CLI (prepare-host.sh installs it), not whatever else PATH finds first.
docker_bin=/usr/bin/docker
[ -x "$docker_bin" ] || { echo "build-cli-standin: /usr/bin/docker is missing (apt-get install docker.io)" >&2; exit 1; }
plugin=""
for p in /usr/local/lib/docker/cli-plugins /usr/local/libexec/docker/cli-plugins /usr/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins; do
  if [ -x "$p/docker-compose" ]; then plugin="$p/docker-compose"; break; fi
done
[ -n "$plugin" ] || { echo "build-cli-standin: the Compose v2 plugin is missing (test/setup/prepare-host.sh installs it)" >&2; exit 1; }
hash="$(cat "$0" "$docker_bin" "$plugin" | sha256sum | cut -c1-16)"
current="$(docker image inspect -f '{{ index .Config.Labels "carebox.standin.hash" }}' "$tag" 2>/dev/null || true)"
if [ "$current" = "$hash" ] && [ "${1:-}" != "--force" ]; then
  echo "build-cli-standin: $tag is current (hash $hash)" >&2
else
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' EXIT
  cp "$docker_bin" "$ctx/docker"
  cp "$plugin" "$ctx/docker-compose"
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY docker /usr/local/bin/docker
COPY docker-compose /usr/local/libexec/docker/cli-plugins/docker-compose
DOCKERFILE
  echo "build-cli-standin: $tag" >&2
  DOCKER_BUILDKIT=0 docker build -q --label carebox.standin.hash="$hash" -t "$tag" "$ctx" >/dev/null
fi

[ -f "$out_json" ] || { echo "build-cli-standin: $out_json is missing (run build-standins.sh first)" >&2; exit 1; }
node -e '
const fs = require("node:fs");
const [file, ref] = process.argv.slice(1);
const j = JSON.parse(fs.readFileSync(file, "utf8"));
j.dockerCli = ref;
fs.writeFileSync(file, JSON.stringify(j, null, 2) + "\n");
' "$out_json" "$tag"
echo "build-cli-standin: added dockerCli to $out_json" >&2
