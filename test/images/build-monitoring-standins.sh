#!/usr/bin/env bash
# Builds local stand-ins for the monitoring images (Prometheus, Alertmanager, node/postgres/redis/
# blackbox exporters) and an SMTP sink for tests, from Debian 12's packages, for machines that reach
# no registry. One rootfs (mmdebstrap) holds them all; each key gets its own tag of that image.
# Cached by the carebox.standin.hash label. Merges its keys into test/images/images.standin.json
# (run after build-standins.sh, which writes that file). Usage: build-monitoring-standins.sh [--force]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="${STANDIN_SUITE:-bookworm}"
mirror="${STANDIN_MIRROR:-http://deb.debian.org/debian}"
packages="prometheus,prometheus-alertmanager,prometheus-node-exporter,prometheus-postgres-exporter,prometheus-redis-exporter,prometheus-blackbox-exporter,python3-aiosmtpd,busybox,ca-certificates,curl"
force="${1:-}"
prefix="${STANDIN_PREFIX:-carebox-standin}"
out_json="${STANDIN_OUT:-$here/images.standin.json}"
hash="$( { cat "$here/Dockerfile.monitoring" "$0"; echo "$suite $packages"; } | sha256sum | cut -c1-16)"
image="${prefix}/monitoring:${suite}-${hash}"
# The rootfs depends on the package set only, so a Dockerfile change does not rerun mmdebstrap.
base_hash="$(echo "$suite $packages" | sha256sum | cut -c1-16)"
base_tag="${prefix}/debian-monitoring:${suite}-${base_hash}"
declare -A tags=(
  [prometheus]="${prefix}/prometheus:2.42"
  [alertmanager]="${prefix}/alertmanager:0.25"
  [nodeExporter]="${prefix}/node-exporter:1.5"
  [postgresExporter]="${prefix}/postgres-exporter:0.11"
  [redisExporter]="${prefix}/redis-exporter:1.45"
  [blackboxExporter]="${prefix}/blackbox-exporter:0.23"
)
label_of() { docker image inspect -f '{{ index .Config.Labels "carebox.standin.hash" }}' "$1" 2>/dev/null || true; }

if [ "$(label_of "$image")" = "$hash" ] && [ "$force" != "--force" ]; then
  echo "build-monitoring-standins: $image is current (hash $hash)" >&2
else
  if ! docker image inspect "$base_tag" >/dev/null 2>&1 || [ "$force" = "--force" ]; then
    echo "build-monitoring-standins: building Debian $suite rootfs with mmdebstrap (a few minutes)" >&2
    mmdebstrap --quiet --variant=minbase --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      "$suite" - "$mirror" | docker import - "$base_tag" >/dev/null
  fi
  ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
  cp "$here/Dockerfile.monitoring" "$ctx/"
  DOCKER_BUILDKIT=0 docker build -q -f "$ctx/Dockerfile.monitoring" --build-arg BASE="$base_tag" \
    --label carebox.standin.hash="$hash" -t "$image" "$ctx" >/dev/null
fi
for k in "${!tags[@]}"; do docker tag "$image" "${tags[$k]}"; done
# The SMTP sink the alert e2e test runs (python3 -m aiosmtpd), same image.
docker tag "$image" "${prefix}/smtp-sink:1.4"
[ -f "$out_json" ] || echo '{}' > "$out_json"
node -e '
  const fs = require("fs"); const [file, ...pairs] = process.argv.slice(1);
  const j = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const p of pairs) { const i = p.indexOf("="); j[p.slice(0, i)] = p.slice(i + 1); }
  fs.writeFileSync(file, JSON.stringify(j, null, 2) + "\n");
' "$out_json" $(for k in "${!tags[@]}"; do echo "$k=${tags[$k]}"; done)
echo "build-monitoring-standins: merged ${!tags[*]} into $out_json" >&2
