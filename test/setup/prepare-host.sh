#!/usr/bin/env bash
# Prepares a Debian 12 machine for Carebox's tests (and lab installs), idempotently:
#   1. Debian packages: docker.io, PostgreSQL 15, Redis, nginx, PgBouncer, apache2-utils, wrk, mmdebstrap;
#   2. Docker Compose v2: Debian 12 only has v1, so the plugin is taken from Debian 13's package;
#   3. dockerd, started in the background with its output in a log file (never on this stdout);
#   4. stand-in postgres/redis/nginx/pgbouncer/node images built from Debian packages (no registry;
#      nginx from Debian forky, 1.30: the edge needs nginx >= 1.27.3).
#   5. stand-ins for restic and an SFTP server (Debian's restic, openssh-server; build-backup-standins.sh).
#   6. restic repository servers for the tests: REST server and moto (S3 API) from Debian forky (build-repo-standins.sh).
# Needs root (apt-get, dockerd). Logs go to $CAREBOX_LOG_DIR (default /var/log/carebox-test).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log_dir="${CAREBOX_LOG_DIR:-/var/log/carebox-test}"
mkdir -p "$log_dir"
say() { echo "prepare-host: $*" >&2; }

if [ "$(id -u)" != 0 ]; then say "run as root (it installs packages and starts dockerd)"; exit 1; fi
export DEBIAN_FRONTEND=noninteractive

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in docker.io postgresql-15 redis-server nginx pgbouncer apache2-utils wrk mmdebstrap iptables curl openssl; do
  have "$p" || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  say "apt-get install ${need_pkgs[*]}"
  apt-get update -qq >"$log_dir/apt-update.log" 2>&1
  # Packages must not start their system services here (no init system in CI; ports stay free).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >"$log_dir/apt-install.log" 2>&1
  rm -f /usr/sbin/policy-rc.d
fi

# Compose v2 plugin from Debian 13 (trixie); works with Debian 12's engine.
plugin=/usr/libexec/docker/cli-plugins/docker-compose
if ! docker compose version >/dev/null 2>&1; then
  say "installing the Compose v2 plugin from Debian 13's docker-compose package"
  work="$(mktemp -d)"
  cat > "$work/trixie.sources" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  mkdir -p "$work/state/lists/partial" "$work/cache/archives/partial"
  aptopts=(-o "Dir::Etc::SourceList=$work/trixie.sources" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State=$work/state" -o "Dir::Cache=$work/cache")
  apt-get "${aptopts[@]}" update -qq >"$log_dir/apt-trixie.log" 2>&1
  (cd "$work" && apt-get "${aptopts[@]}" download docker-compose >>"$log_dir/apt-trixie.log" 2>&1)
  dpkg-deb -x "$work"/docker-compose_*.deb "$work/x"
  install -D -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
  rm -rf "$work"
fi

if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (log: $log_dir/dockerd.log)"
  setsid nohup dockerd >"$log_dir/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { say "dockerd did not start; see $log_dir/dockerd.log"; tail -20 "$log_dir/dockerd.log" >&2; exit 1; }
fi
say "docker $(docker version --format '{{.Server.Version}}'), compose $(docker compose version --short)"

bash "$here/../images/build-standins.sh"
# Prometheus, Alertmanager, the exporters and the SMTP sink of the alert tests (merges its keys).
bash "$here/../images/build-monitoring-standins.sh"
# The Docker CLI + Compose stand-in the release's CLI image is built on (test/e2e/release.e2e.test.ts).
bash "$here/../images/build-cli-standin.sh"
# restic and an SFTP server (issue 13: off-host backups, test/e2e/backup.schedule.e2e.test.ts).
bash "$here/../images/build-backup-standins.sh"
# restic's REST server and an S3-API server (moto) as off-host repositories (test/e2e/backup.repos.e2e.test.ts).
bash "$here/../images/build-repo-standins.sh"
