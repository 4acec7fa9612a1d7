#!/usr/bin/env bash
# Builds the stand-ins the backup side needs, for machines that reach no container registry:
#   carebox-standin/restic:0.14   Debian 12's restic + openssh-client, `restic` as entrypoint: the
#                                 official restic/restic image's contract (Carebox runs it as short-lived
#                                 containers for `init`, `backup`, `forget --prune`, `restore`);
#   carebox-standin/sftp:9        Debian 12's openssh-server: the SFTP target of the e2e tests (not part
#                                 of any stack).
# One Debian 12 rootfs (mmdebstrap, Debian's archive) with both package sets, imported once.
# Merges `restic` into test/images/images.standin.json (written by build-standins.sh, which runs first).
# Cached: images whose carebox.standin.hash label matches this script are kept. Usage: [--force]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mirror="${STANDIN_MIRROR:-http://deb.debian.org/debian}"
packages="restic,openssh-client,openssh-server,ca-certificates"
out_json="${STANDIN_OUT:-$here/images.standin.json}"
restic_tag="carebox-standin/restic:0.14"
sftp_tag="carebox-standin/sftp:9"
hash="$( { cat "$0"; echo "bookworm $packages"; } | sha256sum | cut -c1-16)"
# The rootfs depends on the package set only: editing this script rebuilds the two small images, not the rootfs.
base_tag="carebox-standin/debian:backup-$(echo "bookworm $packages" | sha256sum | cut -c1-16)"
label_of() { docker image inspect -f '{{ index .Config.Labels "carebox.standin.hash" }}' "$1" 2>/dev/null || true; }

if [ "$(label_of "$restic_tag")" = "$hash" ] && [ "$(label_of "$sftp_tag")" = "$hash" ] && [ "${1:-}" != "--force" ]; then
  echo "build-backup-standins: images are current (hash $hash)" >&2
else
  if ! docker image inspect "$base_tag" >/dev/null 2>&1 || [ "${1:-}" = "--force" ]; then
    echo "build-backup-standins: building a Debian 12 rootfs with restic and OpenSSH (mmdebstrap)" >&2
    mmdebstrap --quiet --variant=minbase --include="$packages" \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      bookworm - "$mirror" | docker import - "$base_tag" >/dev/null
  fi
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' EXIT
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $base_tag AS restic
ENV LANG=C.UTF-8
ENTRYPOINT ["restic"]

FROM $base_tag AS sftp
ENV LANG=C.UTF-8
# The server's host keys are made at start (each container its own); logins by key only.
RUN mkdir -p /run/sshd && rm -f /etc/ssh/ssh_host_* \\
 && printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n' > /etc/ssh/sshd_config.d/carebox-test.conf
CMD ["sh", "-c", "ssh-keygen -A >/dev/null && exec /usr/sbin/sshd -D -e"]
DOCKERFILE
  for t in restic sftp; do
    tag="$restic_tag"; [ "$t" = sftp ] && tag="$sftp_tag"
    echo "build-backup-standins: $tag" >&2
    DOCKER_BUILDKIT=0 docker build -q --target "$t" --label carebox.standin.hash="$hash" -t "$tag" "$ctx" >/dev/null
  done
fi

[ -f "$out_json" ] || { echo "build-backup-standins: $out_json is missing (run build-standins.sh first)" >&2; exit 1; }
node -e '
const fs = require("node:fs");
const [file, restic] = process.argv.slice(1);
const j = JSON.parse(fs.readFileSync(file, "utf8"));
j.restic = restic;
fs.writeFileSync(file, JSON.stringify(j, null, 2) + "\n");
' "$out_json" "$restic_tag"
echo "build-backup-standins: added restic to $out_json" >&2
