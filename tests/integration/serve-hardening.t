#!/bin/bash
# herald serve, hardening: an error answer quoting bytes that are not UTF-8
# still has its sentence; a request the HTTP client sends again after a
# kept-alive connection died is counted and logged; Slack pacing keeps a
# margin below HERALD_SLACK_RATE, so the fake at exactly that rate answers
# no 429.
. "$(dirname "$0")/lib.sh"
need_jq

start_fake --slack-rate 0 --quiet
use_slack
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'

# wait_state ID STATE: waits (up to 30 s) until notification ID is in STATE.
wait_state() {
	wait_until 30 eval 'api GET /api/v1/notifications/'"$1"' &&
		[ "$(printf "%s" "$BODY" | jqr .state)" = "'"$2"'" ]'
}

# ---- an error sentence that quotes bytes that are not UTF-8 ---------------------
start_herald
API_CT=$'\xff\xfe/json' api POST /api/v1/events '{"type":"message","title":"x"}'
is "$STATUS" 415 "a Content-Type that is not text: 415"
is "$(printf '%s' "$BODY" | jqr '.error | type')" string "its answer still has the error sentence"
like "$(printf '%s' "$BODY" | jqr .error)" 'not "\\xff\\xfe/json"' \
	"the sentence quotes the bytes escaped"
api GET /api/v1/n%FFpe
is "$STATUS" 404 "a path with a byte that is not UTF-8: 404"
is "$(printf '%s' "$BODY" | jqr '.error | type')" string "its answer has the sentence too"

# ---- a request sent again on a new connection is counted ------------------------
api POST /api/v1/events '{"type":"message","title":"first, opens the connection"}'
is "$STATUS" 202 "the first event is accepted"
wait_state 1 delivered
ok $? "it is delivered, over a connection herald keeps alive"
# The fake reads the next post, then closes the kept-alive connection
# without answering: libcurl sends the request again on a new connection.
fake_fault '{"platform":"slack","path":"chat.postMessage","drop":true}'
api POST /api/v1/events '{"type":"message","title":"second, sent twice"}'
wait_state 2 delivered
ok $? "the second is delivered"
is "$(requests chat.postMessage | jq '[.[] | select(.body.text | tostring | test("second"))] | length')" 2 \
	"the fake got the second post twice"
is "$(metric_sum herald_requests_resent_total provider=slack)" 1 \
	"herald_requests_resent_total counts the re-send"
like "$(cat "$HERALD_ERR")" 'level=warn msg="request sent again" notification=2 .*times=1' \
	"a warning names the notification"
is "$(metric_sum herald_requests_resent_total)" 1 "nothing else was sent again"
stop_herald
is "$HERALD_RC" 0 "herald stops cleanly"

# ---- pacing at exactly the fake's limit: the margin keeps it under ---------------
# Without the margin, about one post in six got a 429 here.
fake_reset
rm -f "$T"/herald.db*
curl -sS -m 5 -X POST "$FAKE_URL/_fake/config" -d '{"slack_rate":5,"slack_burst":3}' >/dev/null
start_herald HERALD_SLACK_RATE=5 HERALD_SLACK_BURST=3 HERALD_SLACK_WORKSPACE_RATE=0
batch=$(python3 -c 'import json; print(json.dumps([{"type":"message","title":"paced %02d" % i} for i in range(30)]))')
api POST /api/v1/events "$batch"
is "$STATUS" 202 "pacing: 30 posts to one channel accepted"
wait_until 60 settled
ok $? "pacing: all sent"
# Loopback delays on a loaded machine can bunch two posts at the fake (it
# measures arrival, herald departure): one 429 in 30 is jitter, the old
# pacing's five are not.
n429=$(requests chat.postMessage | jq '[.[] | select(.status == 429)] | length')
[ "$n429" -le 1 ]
ok $? "pacing: the fake, at the same rate and burst, answered at most one 429 ($n429)"
is "$(metric_sum herald_rate_limited_total)" "$n429" "pacing: herald counted each 429 it got"
stop_herald

no_sanitizer_reports
done_testing
