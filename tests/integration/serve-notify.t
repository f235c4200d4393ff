#!/usr/bin/env bash
# systemd's notification protocol as herald serve speaks it (Type=notify):
# with $NOTIFY_SOCKET set, READY=1 with a STATUS line once the API serves
# (after the "herald started" line), RELOADING=1 with MONOTONIC_USEC= then
# READY=1 around each SIGHUP reload (saying when one failed), STOPPING=1 on
# SIGTERM; an address herald cannot use is one warning and nothing more.
# The listening socket is the test's own (python3). Needs bash, curl, python3.

. "$(dirname "$0")/lib.sh"

SOCK="$T/notify.sock"
NLOG="$T/notify.log"
# Each datagram is one line of $NLOG, its newlines written as "|".
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(65536).decode().replace("\n", "|") + "\n")
' "$SOCK" "$NLOG" &
_pids+=($!)
wait_until 30 test -S "$SOCK" || { echo "Bail out! the test's notify socket did not appear"; exit 1; }
: >>"$NLOG"

notified() { grep -cE -- "$1" "$NLOG"; }
has() { [ "$(notified "$1")" -ge "${2:-1}" ]; }

printf 'services:\n  - name: api\n    ownerIm: "#api"\n' >"$T/catalog.yaml"
start_herald NOTIFY_SOCKET="$SOCK" HERALD_CATALOG="$T/catalog.yaml"

ok "$(wait_until 30 has '^READY=1'; echo $?)" "READY=1 once herald serve is up"
like "$(grep '^READY=1' "$NLOG" | head -1)" "STATUS=serving on port $HERALD_PORT\$" \
	"with a STATUS line naming the port"
like "$(cat "$HERALD_ERR")" 'msg="herald started"' "after the start-up line"
is "$(grep -c . "$NLOG")" 1 "one datagram so far"

kill -HUP "$HERALD_PID"
ok "$(wait_until 30 has '^READY=1\|STATUS=serving; reloaded'; echo $?)" \
	"SIGHUP: READY=1 again after the reload, STATUS says reloaded"
like "$(sed -n 2p "$NLOG")" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=' \
	"before it RELOADING=1 with MONOTONIC_USEC"

echo 'services: [' >"$T/catalog.yaml"
kill -HUP "$HERALD_PID"
ok "$(wait_until 30 has 'STATUS=serving; the last reload failed'; echo $?)" \
	"a failed reload: READY=1 with a STATUS saying it failed"
api GET /healthz
is "$STATUS" 200 "still serving"

stop_herald
is "$HERALD_RC" 0 "SIGTERM: exits 0"
like "$(tail -1 "$NLOG")" '^STOPPING=1\|STATUS=shutting down' "STOPPING=1 on shutdown"
unlike "$(cat "$HERALD_ERR")" 'cannot notify' "no warning with a working socket"

# No socket listening, or an address herald cannot use: it serves anyway.
start_herald NOTIFY_SOCKET="relative/socket"
api GET /readyz
is "$STATUS" 200 "NOTIFY_SOCKET not absolute: herald serves anyway"
stop_herald
is "$HERALD_RC" 0 "and stops cleanly"
is "$(grep -c 'cannot notify the service manager' "$HERALD_ERR")" 1 \
	"one warning, not one per state"
like "$(cat "$HERALD_ERR")" 'NOTIFY_SOCKET \\?"relative/socket\\?" is neither an absolute path' \
	"which names the variable and the problem"

start_herald NOTIFY_SOCKET="$T/nobody.sock"
api GET /healthz
is "$STATUS" 200 "nobody listening on NOTIFY_SOCKET: herald serves anyway"
stop_herald

done_testing
