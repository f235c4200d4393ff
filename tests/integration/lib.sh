# Shared helpers for the integration tests: TAP output and the fake platforms.
#
# Source it from a tests/integration/*.t bash script. It expects (set by
# tests/run): HERALD (the herald binary), HERALD_FAKE (the herald-fake
# binary), HERALD_SRC (the source tree). Each test gets a scratch directory
# $T, removed at exit along with every process started by start_fake.

set -u
: "${HERALD_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${HERALD:=$HERALD_SRC/build/herald}"
: "${HERALD_FAKE:=$HERALD_SRC/build/tests/fake/herald-fake}"
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-test.XXXXXX")
_tap_n=0
_tap_failed=0
_pids=()

_cleanup() {
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap _cleanup EXIT

# Clear every herald and platform variable the caller's environment has.
for v in $(env | sed -n 's/^\(NOTIFICATIONS_[A-Z_]*\|HERALD_[A-Z_]*\)=.*/\1/p'); do
	case "$v" in HERALD_SRC|HERALD|HERALD_FAKE) ;; *) unset "$v" ;; esac
done

ok() {	# ok CONDITION-EXIT-STATUS DESCRIPTION
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_failed=$((_tap_failed + 1))
	fi
}

is() {	# is GOT EXPECTED DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
	fi
}

like() {	# like TEXT EXTENDED-REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   text: %s\n#   does not match: %s\n' "$(printf '%s' "$1" | head -c 600)" "$2"
	fi
}

unlike() {	# unlike TEXT EXTENDED-REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		printf '#   text: %s\n#   matches: %s\n' "$(printf '%s' "$1" | head -c 600)" "$2"
	else
		ok 0 "$3"
	fi
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
	exit $?
}

# start_fake [ARGS...]: starts herald-fake on a free loopback port and sets
# FAKE_URL, SLACK_URL, DISCORD_URL, FAKE_RECORD (its request log).
start_fake() {
	local portfile="$T/fake.port.$RANDOM"
	FAKE_RECORD="$T/fake-requests.jsonl"
	"$HERALD_FAKE" --listen 127.0.0.1:0 --port-file "$portfile" \
		--record "$FAKE_RECORD" "$@" >"$T/fake.log" 2>&1 &
	_pids+=($!)
	for _ in $(seq 1 200); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	if [ ! -s "$portfile" ]; then
		echo "Bail out! herald-fake did not start: $(cat "$T/fake.log")"
		exit 1
	fi
	FAKE_URL="http://127.0.0.1:$(cat "$portfile")"
	SLACK_URL="$FAKE_URL/slack/api"
	DISCORD_URL="$FAKE_URL/discord/api/v10"
}

# fake_fault JSON: injects a fault into the running fake.
fake_fault() {
	curl -fsS -m 5 -X POST -H 'Content-Type: application/json' \
		--data "$1" "$FAKE_URL/_fake/fault" >/dev/null
}

fake_reset() {
	curl -fsS -m 5 -X POST "$FAKE_URL/_fake/reset" >/dev/null
}

# use_slack / use_discord: point herald at the fake with its default token.
use_slack() {
	export NOTIFICATIONS_PROVIDER=slack
	export NOTIFICATIONS_TOKEN=xoxb-test-token
	export HERALD_SLACK_API_URL="$SLACK_URL"
}

use_discord() {
	export NOTIFICATIONS_PROVIDER=discord
	export NOTIFICATIONS_TOKEN=discord-test-token
	export HERALD_DISCORD_API_URL="$DISCORD_URL"
}
