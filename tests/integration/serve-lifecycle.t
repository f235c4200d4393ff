#!/usr/bin/env bash
# Signals of `herald serve`: SIGTERM in the middle of delivery stops
# accepting (503 on an open connection, or refused), lets the requests in
# flight finish, exits 0 within HERALD_SHUTDOWN_GRACE, says how many stay
# queued, and the next start reports that many pending and delivers them
# all, each once; a request hanging past the grace is abandoned and sent
# again after the restart; SIGINT does the same; a slow direct-message
# lookup does not hold up other destinations and its result survives a
# restart; SIGHUP reloads the catalog and NOTIFICATIONS_CHANNEL_MAPPING_FILE
# so new events are routed by them while queued ones are still delivered;
# a broken or missing file on SIGHUP is logged and the old configuration
# kept, with the daemon still serving. Needs bash, curl, jq, perl.

. "$(dirname "$0")/lib.sh"
# A message per notification, which the checks count (digests:
# serve-digests.t).
export HERALD_DIGEST_THRESHOLD=0
need_jq

start_fake --quiet --slack-rate 0
use_slack
export HERALD_SLACK_RATE=100 HERALD_SLACK_BURST=1000 HERALD_SLACK_WORKSPACE_RATE=0
export HERALD_SHUTDOWN_GRACE=10

# raw_open / raw_request METHOD PATH [BODY]: one keep-alive connection on fd 7
# and a request on it. Sets RAW_STATUS ("" when the connection was closed),
# RAW_HEADERS and RAW_BODY.
raw_open() {
	exec 7<>"/dev/tcp/127.0.0.1/$HERALD_PORT"
}
raw_request() {
	local m=$1 p=$2 body=${3:-} line len=0 CR=$'\r'
	local req="$m $p HTTP/1.1${CR}
Host: 127.0.0.1${CR}
Connection: keep-alive${CR}
"
	[ -n "$body" ] && req+="Content-Type: application/json${CR}
Content-Length: ${#body}${CR}
"
	req+="${CR}
$body"
	RAW_STATUS= RAW_HEADERS= RAW_BODY=
	# A subshell, so that a write to a closed socket (SIGPIPE) spares us.
	( printf '%s' "$req" >&7 ) 2>/dev/null || return 0
	IFS= read -r -t 15 -u 7 line || return 0
	RAW_STATUS=$(printf '%s' "$line" | awk '{print $2}')
	while IFS= read -r -t 15 -u 7 line; do
		line=${line%"$CR"}
		[ -z "$line" ] && break
		RAW_HEADERS+="$line"$'\n'
		case "$line" in [Cc]ontent-[Ll]ength:*) len=${line#*:}; len=${len// /} ;; esac
	done
	[ "$len" -gt 0 ] && IFS= read -r -t 15 -u 7 -N "$len" RAW_BODY
	return 0
}

# stopped_value KEY: KEY=N from the last "stopped" log line.
log_value() {
	grep -E "$1" "$HERALD_ERR" | tail -1 | grep -oE "$2\"?[=:]\"?[0-9]+" | grep -oE '[0-9]+$'
}

# --- SIGTERM in the middle of delivery ---------------------------------------------
CH=(deploys staging-deploys)
N=200
perl -e 'print "[", join(",", map { sprintf q({"type":"message","title":"life-%04d","id":"life-%04d","channel":"#%s"}), $_, $_, $ARGV[$_ % 2] } 0..199), "]"' \
	"${CH[@]}" >"$T/life.json"
# 40 quick posts (20 ms each), then the next post of each channel hangs 6 s:
# those two are in flight when SIGTERM comes.
fake_fault '[{"platform": "slack", "path": "chat.postMessage", "delay_ms": 20, "count": 40},
	{"platform": "slack", "path": "chat.postMessage", "delay_ms": 6000, "count": 2}]'
start_herald HERALD_DATABASE="$T/life.db"
raw_open
raw_request GET /healthz
is "$RAW_STATUS" 200 "a keep-alive connection is open (GET /healthz on it: 200)"
api POST /api/v1/events "@$T/life.json"
is "$STATUS" 202 "200 events accepted"
wait_until 30 eval '[ "$(fake_posts)" -ge 40 ]'
ok $? "40 posts answered; two more are hanging at the fake"
sleep 0.5	# let the two hanging posts reach the fake (not needed to pass)
qd=$(metric_sum herald_queue_depth)
at_fake=$(titles slack life | sort -u | grep -c .)
is "$qd" "$((N - at_fake))" "queue_depth while two posts hang: $N - delivered ($at_fake)"
t0=$(date +%s)
kill -TERM "$HERALD_PID"

# New connections: refused, or /readyz 503 (the probes keep answering).
readyz_not_200() {
	local s
	s=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$HERALD_URL/readyz" 2>/dev/null)
	[ "$s" != 200 ]
}
wait_until 10 readyz_not_200
ok $? "after SIGTERM, /readyz stops answering 200 (503 or refused)"
api POST /api/v1/events '{"type": "message", "title": "too-late-1", "id": "too-late-1", "channel": "#deploys"}'
like "$STATUS" '^(503|000)$' "after SIGTERM, a new connection's POST: 503 or refused (got $STATUS)"
[ "$STATUS" = 503 ] && like "$HEADERS" 'Retry-After: ' "the 503 has Retry-After"
raw_request POST /api/v1/events '{"type": "message", "title": "too-late-2", "id": "too-late-2", "channel": "#deploys"}'
like "$RAW_STATUS" '^(503|)$' "after SIGTERM, a POST on the open connection: 503 or closed (got ${RAW_STATUS:-closed})"
if [ "$RAW_STATUS" = 503 ]; then
	like "$RAW_HEADERS" 'Retry-After: ' "the 503 on the open connection has Retry-After"
	like "$(printf '%s' "$RAW_BODY" | jqr .error)" 'shut' "the 503 says herald is shutting down"
	raw_request GET /readyz
	is "$RAW_STATUS" 503 "/readyz on the open connection during the drain: 503"
	like "$(printf '%s' "$RAW_BODY" | jqr .reason)" '^shutting down' "/readyz reason: shutting down"
fi
exec 7>&-

wait_herald 30
t1=$(date +%s)
is "$HERALD_RC" 0 "SIGTERM: exit 0"
ok $([ $((t1 - t0)) -le 18 ]; echo $?) "exited within the 10 s grace (and a margin): $((t1 - t0)) s"
like "$(grep -E 'msg="?shutting down' "$HERALD_ERR")" '.' "logged that it is shutting down"
queued_next=$(log_value 'msg="?stopped' queued_for_next_start)
like "$queued_next" '^[0-9]+$' "the stop line says how many stay queued ($queued_next)"
abandoned=$(log_value 'msg="?stopped' in_flight_abandoned)
is "$abandoned" 0 "no request in flight abandoned (they finish within the grace)"
delivered_before=$(titles slack life | sort -u | grep -c .)
ok $([ "$delivered_before" -ge 42 ] && [ "$delivered_before" -lt "$N" ]; echo $?) \
	"stopped in the middle: the two hanging posts finished ($delivered_before of $N delivered)"
is "$queued_next" "$((N - delivered_before))" "queued for next start = $N - delivered"

start_herald HERALD_DATABASE="$T/life.db"
like "$HERALD_START_LINE" "pending\"?[=:]\"?$((N - delivered_before))([^0-9]|\$)" \
	"the next start reports $((N - delivered_before)) pending"
wait_until 60 settled
ok $? "the rest is delivered after the restart"
check_delivery slack life $N 0
api POST /api/v1/events "@$T/life.json"
is "$STATUS" 200 "after the restart, the same 200 events again: 200"
is "$(printf '%s' "$BODY" | jqr '[.accepted[].duplicate] | unique | join(",")')" true "... every one a duplicate"
for ev in too-late-1 too-late-2; do
	is "$(log_states | grep -c "^$ev ")" 0 "$ev, refused during shutdown, was not stored"
	is "$(titles slack too-late | grep -c "$ev")" 0 "$ev was not posted"
done 2>/dev/null

# --- SIGINT -----------------------------------------------------------------------------
kill -INT "$HERALD_PID"
wait_herald 20
is "$HERALD_RC" 0 "SIGINT: exit 0"
like "$(grep -E 'msg="?stopped' "$HERALD_ERR")" 'queued_for_next_start"?[=:]"?0' "SIGINT: nothing left queued"

# --- a request in flight longer than the grace ----------------------------------------
fake_reset
fake_fault '{"platform": "slack", "path": "chat.postMessage", "delay_ms": 20000}'
start_herald HERALD_DATABASE="$T/grace.db" HERALD_SHUTDOWN_GRACE=2
api POST /api/v1/events '{"type": "message", "title": "slow-0000", "id": "slow-0000", "channel": "#deploys"}'
slow_id=$(printf '%s' "$BODY" | jqr '.accepted[0].notification_id')
is_sending() {
	api GET "/api/v1/notifications/$slow_id"
	[ "$(printf '%s' "$BODY" | jqr .state)" = sending ]
}
wait_until 15 is_sending
ok $? "a post hanging at the fake for 20 s: sending"
t0=$(date +%s)
kill -TERM "$HERALD_PID"
wait_herald 30
t1=$(date +%s)
is "$HERALD_RC" 0 "SIGTERM with HERALD_SHUTDOWN_GRACE=2 and a request hanging: exit 0"
ok $([ $((t1 - t0)) -le 12 ]; echo $?) "it did not wait for the 20 s request: $((t1 - t0)) s"
is "$(log_value 'msg="?stopped' in_flight_abandoned)" 1 "the stop line counts one request abandoned"
start_herald HERALD_DATABASE="$T/grace.db"
like "$HERALD_START_LINE" 'pending"?[=:]"?1([^0-9]|$)' "the next start has the abandoned one pending"
wait_until 30 settled
ok $? "the abandoned one is delivered after the restart"
# The fake still finishes the first request: on Slack it may show twice.
check_delivery slack slow 1 1
stop_herald
is "$HERALD_RC" 0 "exit 0"

# --- direct messages: a slow lookup stalls no one; the result survives a restart ------
fake_reset
# conversations.open for the DM hangs 10 s (under HERALD_REQUEST_TIMEOUT).
fake_fault '{"platform": "slack", "path": "conversations.open", "delay_ms": 10000}'
start_herald HERALD_DATABASE="$T/dm.db"
api POST /api/v1/events '{"type": "message", "title": "dm-0000", "id": "dm-0000", "channel": "@jane"}'
dm_id=$(printf '%s' "$BODY" | jqr '.accepted[0].notification_id')
is "$(printf '%s' "$BODY" | jqr '.accepted[0].kind')" dm "@jane: kind dm"
wait_until 10 eval '[ "$(curl -fsS "$FAKE_URL/_fake/fault" | jq length)" = 0 ]'
ok $? "the DM's conversations.open is hanging at the fake"
api POST /api/v1/events '{"type": "message", "title": "beside-dm", "channel": "#deploys"}'
beside=$(printf '%s' "$BODY" | jqr '.accepted[0].notification_id')
beside_delivered() {
	api GET "/api/v1/notifications/$beside"
	[ "$(printf '%s' "$BODY" | jqr .state)" = delivered ]
}
wait_until 7 beside_delivered
ok $? "a channel's message is delivered while another destination's lookup hangs"
dm_delivered() {
	api GET "/api/v1/notifications/$dm_id"
	[ "$(printf '%s' "$BODY" | jqr .state)" = delivered ]
}
wait_until 30 dm_delivered
ok $? "the DM is delivered once the lookup answers"
api GET "/api/v1/notifications/$dm_id"
is "$(printf '%s' "$BODY" | jqr .channel_id)" D0000000001 "the DM went to jane's DM channel"
stop_herald
is "$HERALD_RC" 0 "exit 0"
lookups() {
	curl -fsS "$FAKE_URL/_fake/requests" |
		jq '[.[] | select(.path | test("users\\.|conversations\\.open"))] | length'
}
l0=$(lookups)
ok $([ "$l0" -gt 0 ]; echo $?) "the first DM needed lookups ($l0)"
start_herald HERALD_DATABASE="$T/dm.db"
api POST /api/v1/events '{"type": "message", "title": "dm-0001", "id": "dm-0001", "channel": "@jane"}'
dm_id=$(printf '%s' "$BODY" | jqr '.accepted[0].notification_id')
wait_until 30 dm_delivered
ok $? "after a restart, a DM to the same person is delivered"
is "$(lookups)" "$l0" "... without a new lookup: the resolution was stored"
check_delivery slack dm 2 0
stop_herald
is "$HERALD_RC" 0 "exit 0"

# --- SIGHUP: reload the catalog ---------------------------------------------------------
fake_reset
cat >"$T/catalog.yaml" <<'EOF'
services:
  - name: api
    ownerIm: "#backend-deploys"
EOF
export HERALD_CATALOG="$T/catalog.yaml"
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
start_herald HERALD_DATABASE="$T/hup.db"
hup_pid=$HERALD_PID

# dest APP [ENV]: the destination herald gives a new event of APP.
n_ev=0
dest() {
	n_ev=$((n_ev + 1))
	api POST /api/v1/events "{\"type\": \"deploy\", \"status\": \"succeeded\", \"app\": \"$1\", \"env\": \"${2:-production}\", \"sha\": \"hup$n_ev\"}"
	printf '%s' "$BODY" | jqr '.accepted[0].destination'
}
reloads() { grep -cE 'msg="?reloaded' "$HERALD_ERR"; }
reload_failures() { grep -cE 'level"?[=:]"?error.*reload failed|reload failed.*level"?[=:]"?error' "$HERALD_ERR"; }

is "$(dest api)" '#backend-deploys' "before SIGHUP: api goes to its ownerIm"
is "$(dest web)" '#deploys' "before SIGHUP: web (not in the catalog) goes to the default channel"

# Ten events queued behind a post that hangs 3 s, across the reload.
fake_fault '{"platform": "slack", "path": "chat.postMessage", "delay_ms": 3000}'
perl -e 'print "[", join(",", map { sprintf q({"type":"message","title":"queued-%04d","id":"queued-%04d","channel":"#production-deploys"}), $_, $_ } 0..9), "]"' >"$T/queued.json"
api POST /api/v1/events "@$T/queued.json"
is "$STATUS" 202 "ten events queued for #production-deploys"

cat >"$T/catalog.yaml" <<'EOF'
services:
  - name: api
    ownerIm: "#staging-deploys"
  - name: web
    ownerIm: "#production-deploys"
EOF
r0=$(reloads)
kill -HUP "$HERALD_PID"
wait_until 15 eval '[ "$(reloads)" -gt "$r0" ]'
ok $? "SIGHUP: logged \"reloaded\""
like "$(grep -E 'msg="?reloaded' "$HERALD_ERR" | tail -1)" 'catalog_services"?[=:]"?2' "reloaded: two catalog services"
is "$(dest api)" '#staging-deploys' "after SIGHUP: api goes to its new ownerIm"
is "$(dest web)" '#production-deploys' "after SIGHUP: web is in the catalog now"
wait_until 30 settled
ok $? "everything queued across the reload was delivered"
check_delivery slack queued 10 0
is "$(curl -fsS "$FAKE_URL/_fake/messages?channel=production-deploys" |
	jq '[.slack[] | select(tostring | test("queued-[0-9]{4}"))] | length')" 10 \
	"the queued events went where they were routed when accepted"

# A broken catalog: logged, the old one kept, still serving.
cp "$T/catalog.yaml" "$T/catalog.good"
printf 'services:\n  - name: api\n    ownerIm: [unclosed\n' >"$T/catalog.yaml"
f0=$(reload_failures)
r0=$(reloads)
kill -HUP "$HERALD_PID"
wait_until 15 eval '[ "$(reload_failures)" -gt "$f0" ]'
ok $? "SIGHUP with a broken catalog: \"reload failed\" logged at error"
like "$(grep -E 'catalog\.yaml' "$HERALD_ERR" | tail -3)" 'catalog\.yaml:[0-9]' "the problem names the file and line"
is "$(reloads)" "$r0" "no \"reloaded\" for the broken catalog"
kill -0 "$HERALD_PID" 2>/dev/null
ok $? "the daemon is still running"
api GET /healthz
is "$STATUS" 200 "still serving: /healthz 200"
is "$(dest api)" '#staging-deploys' "the old catalog is kept: api still goes to #staging-deploys"
is "$(dest web)" '#production-deploys' "the old catalog is kept: web still in it"

# A missing catalog file: the same.
rm -f "$T/catalog.yaml"
f0=$(reload_failures)
kill -HUP "$HERALD_PID"
wait_until 15 eval '[ "$(reload_failures)" -gt "$f0" ]'
ok $? "SIGHUP with the catalog file gone: \"reload failed\" logged"
is "$(dest api)" '#staging-deploys' "the old catalog is kept after a missing file"

# Fixed again: the next SIGHUP applies it.
cat >"$T/catalog.yaml" <<'EOF'
services:
  - name: api
EOF
r0=$(reloads)
kill -HUP "$HERALD_PID"
wait_until 15 eval '[ "$(reloads)" -gt "$r0" ]'
ok $? "SIGHUP with a fixed catalog: reloaded"
is "$(dest api)" '#deploys' "api without ownerIm now goes to the default channel"
is "$(dest web)" '#deploys' "web, gone from the catalog, goes to the default channel"
is "$HERALD_PID" "$hup_pid" "the same process throughout"
wait_until 30 settled
ok $? "all delivered"
stop_herald
is "$HERALD_RC" 0 "SIGTERM after the reloads: exit 0"

# --- SIGHUP: reload the channel mapping file ----------------------------------------------
printf '# environment=channel\nproduction = #production-deploys\nstaging    = #staging-deploys\n' >"$T/mapping"
env NOTIFICATIONS_CHANNEL_MAPPING='qa=#deploys' NOTIFICATIONS_CHANNEL_MAPPING_FILE="$T/mapping" \
	HERALD_LISTEN=127.0.0.1:0 HERALD_DATABASE="$T/both.db" "$HERALD" serve >"$T/out" 2>"$T/err" </dev/null &
pid=$!
_pids+=("$pid")
wait_exit "$pid" 20
is "$EXIT_RC" 2 "both NOTIFICATIONS_CHANNEL_MAPPING and _FILE: exit 2"
export NOTIFICATIONS_CHANNEL_MAPPING_FILE="$T/mapping"
start_herald HERALD_DATABASE="$T/map.db"
is "$(dest svc production)" '#production-deploys' "mapping file: production mapped"
is "$(dest svc qa)" '#deploys' "mapping file: qa not mapped, default channel"
printf 'production=#backend-deploys\nqa=#staging-deploys\n' >"$T/mapping"
r0=$(reloads)
kill -HUP "$HERALD_PID"
wait_until 15 eval '[ "$(reloads)" -gt "$r0" ]'
ok $? "SIGHUP: mapping file reloaded"
is "$(dest svc production)" '#backend-deploys' "after SIGHUP: production goes to its new channel"
is "$(dest svc qa)" '#staging-deploys' "after SIGHUP: qa is mapped now"
printf 'production=#deploys\nqa\n' >"$T/mapping"
f0=$(reload_failures)
kill -HUP "$HERALD_PID"
wait_until 15 eval '[ "$(reload_failures)" -gt "$f0" ]'
ok $? "SIGHUP with a broken mapping file: \"reload failed\" logged at error"
like "$(grep -F "$T/mapping" "$HERALD_ERR" | tail -3)" 'item 2' "the problem names the file and the item"
is "$(dest svc production)" '#backend-deploys' "the old mapping is kept"
is "$(dest svc qa)" '#staging-deploys' "the old mapping is kept (qa)"
rm -f "$T/mapping"
f0=$(reload_failures)
kill -HUP "$HERALD_PID"
wait_until 15 eval '[ "$(reload_failures)" -gt "$f0" ]'
ok $? "SIGHUP with the mapping file gone: \"reload failed\" logged"
is "$(dest svc production)" '#backend-deploys' "the old mapping is kept after a missing file"
api GET /healthz
is "$STATUS" 200 "still serving"
wait_until 30 settled
ok $? "all delivered"
stop_herald
is "$HERALD_RC" 0 "exit 0"

no_sanitizer_reports
done_testing
