#!/usr/bin/env bash
# Builds the restic repository servers the off-host backup tests copy to (issue 13: REST-server and
# S3-compatible repositories; test/e2e/backup.repos.e2e.test.ts). Neither is part of any stack.
#   carebox-standin/rest-server:0.14  Debian forky's restic-rest-server 0.14.0 (restic's own REST
#                                     server) with apache2-utils for its htpasswd file;
#   carebox-standin/moto-s3:5.1       Debian forky's python3-moto 5.1.18: `moto_server`, an S3-API
#                                     HTTP server (objects in memory). Used because no other
#                                     S3-compatible server installs here; it does not check keys.
# One Debian forky rootfs (mmdebstrap, Debian's archive; forky is a rolling suite, so the
# Valid-Until check is off for this rootfs only, as for the nginx stand-in), imported once.
# Merges nothing into images.standin.json: the tests name these tags. Cached: images whose
# carebox.standin.hash label matches this script are kept. Usage: [--force]
set -euo pipefail
suite="${STANDIN_REPO_SUITE:-forky}"
mirror="${STANDIN_MIRROR:-http://deb.debian.org/debian}"
packages="restic-rest-server,apache2-utils,python3-moto,python3-flask-cors,ca-certificates"
rest_tag="carebox-standin/rest-server:0.14"
s3_tag="carebox-standin/moto-s3:5.1"
hash="$( { cat "$0"; echo "$suite $packages"; } | sha256sum | cut -c1-16)"
# The rootfs depends on the package set only: editing this script rebuilds the two small images, not the rootfs.
base_tag="carebox-standin/debian:repos-$(echo "$suite $packages" | sha256sum | cut -c1-16)"
label_of() { docker image inspect -f '{{ index .Config.Labels "carebox.standin.hash" }}' "$1" 2>/dev/null || true; }

if [ "$(label_of "$rest_tag")" = "$hash" ] && [ "$(label_of "$s3_tag")" = "$hash" ] && [ "${1:-}" != "--force" ]; then
  echo "build-repo-standins: images are current (hash $hash)" >&2
  exit 0
fi
if ! docker image inspect "$base_tag" >/dev/null 2>&1 || [ "${1:-}" = "--force" ]; then
  echo "build-repo-standins: building a Debian $suite rootfs with restic-rest-server and python3-moto (mmdebstrap)" >&2
  mmdebstrap --quiet --variant=minbase --include="$packages" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$suite" - "$mirror" | docker import - "$base_tag" >/dev/null
fi
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $base_tag AS rest
ENV LANG=C.UTF-8
# --path and --listen as restic's rest-server image; the test mounts /data/.htpasswd (or passes --no-auth).
ENTRYPOINT ["restic-rest-server", "--path", "/data", "--listen", ":8000"]

FROM $base_tag AS s3
ENV LANG=C.UTF-8
ENTRYPOINT ["moto_server", "-H", "0.0.0.0", "-p", "5000"]
DOCKERFILE
for t in rest s3; do
  tag="$rest_tag"; [ "$t" = s3 ] && tag="$s3_tag"
  echo "build-repo-standins: $tag" >&2
  DOCKER_BUILDKIT=0 docker build -q --target "$t" --label carebox.standin.hash="$hash" -t "$tag" "$ctx" >/dev/null
done
