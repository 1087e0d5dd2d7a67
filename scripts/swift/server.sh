#!/usr/bin/env bash
# A throwaway OpenStack Swift with its S3 layer (s3api + tempauth), on loopback, for tests.
#
#   scripts/swift/server.sh start <dir>   start it; all state lives in <dir>; writes <dir>/env
#   scripts/swift/server.sh stop <dir>    stop everything that `start <dir>` started
#
# <dir>/env holds the contract the S3 test suites read (sync/testing/s3.ts):
#   STRATA_TEST_S3_ENDPOINT=http://127.0.0.1:<port>
#   STRATA_TEST_S3_ACCESS_KEY=test:tester
#   STRATA_TEST_S3_SECRET_KEY=testing
#   STRATA_TEST_S3_REGION=us-east-1
#   STRATA_TEST_S3_DISPOSABLE=1      (all its data goes with `stop`: tests need not clean up)
#
# `start` returns only once a signed S3 request (ListBuckets) succeeds. Ports are picked free at
# start, so two runs can coexist. Every process runs in the foreground of its own (no forked
# workers), and its pid is recorded in <dir>/pids, so `stop` leaves nothing behind.
#
# Swift reads its hash-path salt from /etc/swift/swift.conf whatever swift_dir says; the Debian
# package ships that file, and it is written only if missing. Rings and configs stay in <dir>.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}"
dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop <dir>" >&2
  exit 2
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
start_timeout="${SWIFT_START_TIMEOUT:-120}"
# The system interpreter: it is the one that has Swift's modules (a pyenv shim may not).
py=/usr/bin/python3
[[ -x "$py" ]] || py=python3

die() {
  echo "swift: $*" >&2
  exit 1
}

# Bind several sockets to port 0 at once so the kernel hands out distinct free ports.
free_ports() {
  "$py" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

write_swift_conf() {
  [[ -f /etc/swift/swift.conf ]] && return 0
  mkdir -p /etc/swift
  cat >/etc/swift/swift.conf <<EOF
[swift-hash]
swift_hash_path_suffix = strata-test-suffix
swift_hash_path_prefix = strata-test-prefix

[storage-policy:0]
name = Policy-0
default = yes
EOF
}

make_rings() {
  "$py" "$here/rings.py" "$dir/etc" "${ports[account]}" "${ports[container]}" "${ports[object]}" ||
    die "could not build the rings"
}

# The shared [DEFAULT] of every server: loopback, no forks, state in $dir.
defaults() {
  cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = $(id -un)
swift_dir = $dir/etc
devices = $dir/srv
mount_check = false
disable_fallocate = true
log_level = WARNING
EOF
}

write_storage_conf() {
  local kind="$1"
  {
    defaults "${ports[$kind]}"
    cat <<EOF

[pipeline:main]
pipeline = $kind-server

[app:$kind-server]
use = egg:swift#$kind
EOF
  } >"$dir/etc/$kind-server.conf"
}

write_proxy_conf() {
  {
    defaults "${ports[proxy]}"
    # s3api needs slo for multipart uploads; versioned_writes needs symlink after it.
    cat <<EOF

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${ports[memcached]}

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:symlink]
use = egg:swift#symlink
EOF
  } >"$dir/etc/proxy-server.conf"
}

# Run a command in the background with its output in $dir/log/<name>.log; record its pid.
launch() {
  local name="$1"
  shift
  : >"$dir/log/$name.log"
  "$@" </dev/null >>"$dir/log/$name.log" 2>&1 &
  echo "$! $name" >>"$dir/pids"
}

dump_logs() {
  local f
  for f in "$dir"/log/*.log; do
    echo "----- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2 || true
  done
}

wait_ready() {
  local endpoint="$1" deadline=$((SECONDS + start_timeout)) last=""
  while ((SECONDS < deadline)); do
    while read -r pid name; do
      kill -0 "$pid" 2>/dev/null || {
        dump_logs
        stop_all
        die "$name exited during start-up (logs above)"
      }
    done <"$dir/pids"
    if last="$("$py" "$here/s3ping.py" "$endpoint" test:tester testing us-east-1 2>&1)"; then
      return 0
    fi
    sleep 0.2
  done
  dump_logs
  stop_all
  die "no S3 answer from $endpoint within ${start_timeout}s; last attempt: $last"
}

stop_all() {
  [[ -f "$dir/pids" ]] || return 0
  local pid name left
  while read -r pid name; do kill -TERM "$pid" 2>/dev/null || true; done <"$dir/pids"
  for _ in $(seq 50); do
    left=0
    while read -r pid name; do kill -0 "$pid" 2>/dev/null && left=1; done <"$dir/pids"
    ((left)) || break
    sleep 0.1
  done
  while read -r pid name; do kill -KILL "$pid" 2>/dev/null || true; done <"$dir/pids"
  rm -f "$dir/pids"
}

start() {
  for bin in swift-proxy-server swift-account-server swift-container-server swift-object-server memcached; do
    command -v "$bin" >/dev/null || die "$bin is not installed (apt-get install swift swift-proxy swift-account swift-container swift-object memcached)"
  done
  [[ -f "$dir/pids" ]] && die "$dir already has a running server (stop it first)"
  mkdir -p "$dir/etc" "$dir/srv/d1" "$dir/log"
  declare -gA ports
  read -r ports[proxy] ports[account] ports[container] ports[object] ports[memcached] <<<"$(free_ports 5)"

  write_swift_conf
  make_rings
  for kind in account container object; do write_storage_conf "$kind"; done
  write_proxy_conf

  : >"$dir/pids"
  # Whatever ends start-up early (an error, a signal) must not leave servers running.
  trap 'stop_all' EXIT
  trap 'exit 1' INT TERM HUP
  launch memcached memcached -l 127.0.0.1 -p "${ports[memcached]}" -U 0 -m 64 -u "$(id -un)"
  for kind in account container object proxy; do
    launch "$kind" "swift-$kind-server" "$dir/etc/$kind-server.conf" --verbose
  done

  local endpoint="http://127.0.0.1:${ports[proxy]}"
  wait_ready "$endpoint"
  cat >"$dir/env" <<EOF
STRATA_TEST_S3_ENDPOINT=$endpoint
STRATA_TEST_S3_ACCESS_KEY=test:tester
STRATA_TEST_S3_SECRET_KEY=testing
STRATA_TEST_S3_REGION=us-east-1
STRATA_TEST_S3_DISPOSABLE=1
EOF
  trap - EXIT INT TERM HUP
}

case "$cmd" in
  start) start ;;
  stop) stop_all ;;
  *) die "unknown command '$cmd' (start|stop)" ;;
esac
