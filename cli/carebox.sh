#!/bin/sh
# carebox: the Carebox CLI on a server that has only Docker (engine + Compose v2) and a POSIX shell.
# No Node.js, npm or network needed: the CLI is a container image (cli/Dockerfile) that ships in the
# release's offline bundle, and this script runs it.
#
#   carebox install --bundle carebox-bundle-<version>.tar.gz --yes     (first install, air-gapped)
#   carebox status · carebox upgrade --bundle carebox-bundle-<new>.tar.gz · carebox --version · ...
#
# Which CLI image runs: CAREBOX_CLI_IMAGE if set, else the one that installed or last upgraded the
# install root (<root>/cli-image), else this release's (below). When that image is not loaded and
# the command names --bundle FILE, it is loaded from FILE first (`docker load` of its images.tar).
#
# How it runs (same results as running the CLI on the host):
#   - the Docker socket (DOCKER_HOST unix://PATH, default /var/run/docker.sock);
#   - the install root's parent, the current directory and every existing path named in the
#     arguments (and the parent of a new file to write), each at the SAME path as on the host:
#     Compose resolves bind-mount paths on the host's daemon (the docker/compose run.sh image
#     launcher did the same);
#   - the host's /proc and /sys read-only under /host, with this script's pid, so detection sizes
#     the host's usable CPUs and memory, not this container's cgroup (node_exporter's convention);
#   - --network host: the port preflight and the smoke request through nginx see the host's ports;
#   - -t only when stdin and stdout are terminals (the Ink console); the exit code passes through.
# Exit codes: the CLI's (0 ok, 1 failed, 2 usage, 3 preflight, 4 unhealthy); 3 when Docker is
# missing or unreachable; 2 when the CLI image is not loaded and no --bundle names it.
set -u
release_image='@CAREBOX_CLI_IMAGE@'

say() { echo "carebox: $*" >&2; }
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }

if ! command -v docker >/dev/null 2>&1; then
  say "the Docker CLI is not installed: install Docker (engine and CLI) and Compose v2, e.g. Debian's docker.io and docker-compose packages"
  exit 3
fi
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  say "the Docker engine is not reachable: start it (systemctl start docker), and run as root or as a member of the docker group"
  exit 3
fi

# The install root and the bundle, from the arguments (the CLI parses them again).
root="${CAREBOX_DIR:-/opt/carebox}"
bundle=""
prev=""
for a in "$@"; do
  case "$prev" in --dir) root="$a" ;; --bundle) bundle="$a" ;; esac
  case "$a" in --dir=*) root="${a#--dir=}" ;; --bundle=*) bundle="${a#--bundle=}" ;; esac
  prev="$a"
done
root="$(abspath "$root")"

image="${CAREBOX_CLI_IMAGE:-}"
if [ -z "$image" ] && [ -r "$root/cli-image" ]; then image="$(head -n 1 "$root/cli-image")"; fi
if [ -z "$image" ]; then image="$release_image"; fi
case "$image" in @*) say "this launcher has no CLI image: use the carebox-<version>.sh of a release (npm run release), or set CAREBOX_CLI_IMAGE"; exit 2 ;; esac

if ! docker image inspect "$image" >/dev/null 2>&1; then
  if [ -z "$bundle" ]; then
    say "the Carebox CLI image $image is not loaded; name the release's offline bundle: carebox install --bundle carebox-bundle-<version>.tar.gz"
    exit 2
  fi
  if [ ! -r "$bundle" ]; then say "--bundle $bundle: no such file"; exit 2; fi
  say "loading the images of $bundle (the CLI $image among them)"
  case "$bundle" in
    *.gz | *.tgz) tar -xzOf "$bundle" images.tar | docker load -q >&2 ;;
    *) tar -xOf "$bundle" images.tar | docker load -q >&2 ;;
  esac
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    say "$bundle does not hold the CLI image $image (not a release bundle of this version?)"
    exit 2
  fi
fi

# Docker socket.
sock=/var/run/docker.sock
case "${DOCKER_HOST:-}" in
  unix://*) sock="${DOCKER_HOST#unix://}" ;;
  '') ;;
  *) say "DOCKER_HOST=$DOCKER_HOST is not a Unix socket; the CLI container reaches it over the host's network" ;;
esac

# Paths to mount at the same place, one per line (a path with a newline is not supported).
mounts=""
mount_same() {
  case "$1" in
    / | /proc | /proc/* | /sys | /sys/* | /dev | /dev/* | /host | /host/* | /usr/local/lib/carebox | /usr/local/lib/carebox/*) return 1 ;;
  esac
  # A directory of the image's system (where node and docker live) stays the image's; a file there is fine.
  if [ -d "$1" ]; then
    case "$1" in /usr | /usr/* | /etc | /etc/* | /bin | /bin/* | /sbin | /sbin/* | /lib | /lib/* | /lib64 | /lib64/* | /run | /run/* | /var/run | /var/run/*) return 1 ;; esac
  fi
  case "
$mounts" in *"
$1
"*) return 0 ;; esac
  mounts="$mounts$1
"
}
for a in "$@"; do
  case "$a" in --*=*) p="${a#*=}" ;; -*) continue ;; *) p="$a" ;; esac
  [ -n "$p" ] || continue
  if [ -e "$p" ]; then
    mount_same "$(abspath "$p")"
  else
    case "$p" in */*) d="$(dirname "$p")"; if [ -d "$d" ]; then mount_same "$(abspath "$d")"; fi ;; esac
  fi
done
parent="$(dirname "$root")"
if [ "$parent" = / ]; then parent="$root"; fi
mkdir -p "$parent" || exit 1
mount_same "$parent"
cwd="$(pwd)"
workdir=/
if mount_same "$cwd"; then workdir="$cwd"; fi

# The arguments stay as they are; docker options are prepended to them, last first.
set -- "$image" "$@"
set -f
old_ifs="$IFS"
IFS='
'
for m in $mounts; do set -- -v "$m:$m" "$@"; done
IFS="$old_ifs"
set +f

# Every CAREBOX_* variable passes through (names only: values stay out of ps listings).
for name in $(env | sed -n 's/^\(CAREBOX_[A-Za-z0-9_]*\)=.*/\1/p'); do
  case "$name" in CAREBOX_DIR | CAREBOX_CLI_IMAGE | CAREBOX_HOST_ROOT | CAREBOX_HOST_PID) ;; *) set -- -e "$name" "$@" ;; esac
done
# Who runs it, for the operations log (`carebox history`): the CLI itself runs as root in its container.
CAREBOX_OPERATOR="$(id -un 2>/dev/null || echo "uid $(id -u)")"
export CAREBOX_OPERATOR
set -- -e CAREBOX_OPERATOR "$@"
for name in TERM COLUMNS LINES NO_COLOR FORCE_COLOR TZ LANG SUDO_USER; do
  if env | grep -q "^$name="; then set -- -e "$name" "$@"; fi
done

tty=""
if [ -t 0 ] && [ -t 1 ]; then tty="-t"; fi
exec docker run --rm -i $tty --network host \
  -v "$sock:/var/run/docker.sock" -e DOCKER_HOST=unix:///var/run/docker.sock \
  -v /proc:/host/proc:ro -v /sys:/host/sys:ro \
  -e CAREBOX_HOST_ROOT=/host -e "CAREBOX_HOST_PID=$$" \
  -e "CAREBOX_DIR=$root" -e "CAREBOX_CLI_IMAGE=$image" \
  -w "$workdir" "$@"
