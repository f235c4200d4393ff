#!/bin/bash
# herald serve: retention (HERALD_RETENTION, docs/storage.md#retention)
# against the fake Slack. Notifications delivered "two hours ago" (the test
# moves the database's times back while herald is stopped) disappear from
# the API a few seconds after a start with a retention of 1h, with their
# events and attempts; one still waiting for its retry, as old, is kept and
# delivered; stories past the retention and the story window go too; with
# HERALD_RETENTION=off nothing goes. A pruned event's id is
# new again (sent again, it is posted again); a kept one's is a duplicate.
# The metrics and the log line count what went.
. "$(dirname "$0")/lib.sh"
need_jq
command -v sqlite3 >/dev/null 2>&1 ||
	{ echo "Bail out! sqlite3 is not installed (apt-get install sqlite3)"; exit 1; }

ev() {
	printf '{"type":"deploy","status":"succeeded","app":"api","env":"prod","sha":"%s","id":"%s"}' "$1" "$1"
}

# nid EVENT-ID: the notification id the last POST answered for it.
nid() { printf '%s' "$BODY" | jq -r --arg e "$1" '.accepted[] | select(.event_id == $e) | .notification_id'; }

# state ID: the notification's state, or "gone" when the API has none.
state() {
	api GET "/api/v1/notifications/$1"
	if [ "$STATUS" = 404 ]; then echo gone; else printf '%s' "$BODY" | jq -r .state; fi
}
state_is() { [ "$(state "$1")" = "$2" ]; }

rows() { sqlite3 "$T/herald.db" "SELECT count(*) FROM $1"; }

start_fake --slack-rate 0
use_slack
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export HERALD_SLACK_RATE=50 HERALD_SLACK_BURST=50

# ---- three delivered, one retrying ----------------------------------------
start_herald HERALD_RETENTION=1h
like "$HERALD_START_LINE" 'retention_s=3600' "the start line names the retention"
api POST /api/v1/events "[$(ev r1), $(ev r2), $(ev r3)]"
is "$STATUS" 202 "three events accepted"
N1=$(nid r1) N2=$(nid r2) N3=$(nid r3)
wait_until 30 eval 'state_is "$N1" delivered && state_is "$N2" delivered && state_is "$N3" delivered'
ok $? "they are delivered"
fake_fault '{"count":1000,"platform":"slack","status":503}'
api POST /api/v1/events "[$(ev r4)]"
N4=$(nid r4)
wait_until 30 state_is "$N4" retrying
ok $? "a fourth is retrying (the platform answers 503)"
stop_herald
is "$HERALD_RC" 0 "herald stops"
fake_reset

# Two hours back; the retrying one is due again in 40 s, after the first
# pruning pass (2 s after the second start from now).
sqlite3 "$T/herald.db" "
	UPDATE notifications SET created_at = created_at - 7200,
	  updated_at = updated_at - 7200, delivered_at = delivered_at - 7200,
	  next_attempt_at = CASE WHEN state = 'retrying'
	    THEN CAST(strftime('%s', 'now') AS REAL) + 40 END;
	UPDATE attempts SET at = at - 7200;
	UPDATE events SET received_at = received_at - 7200;
	UPDATE stories SET updated_at = updated_at - 7200;"
A4=$(sqlite3 "$T/herald.db" "SELECT count(*) FROM attempts WHERE notification_id = $N4")
is "$(rows notifications) $(rows events) $(rows attempts)" "4 4 $((3 + A4))" \
	"the database holds four notifications and events, and their attempts"

# ---- off keeps everything -------------------------------------------------
start_herald HERALD_RETENTION=off
like "$HERALD_START_LINE" 'retention=off' "the start line says retention=off"
sleep 4
is "$(state "$N1")" delivered "with HERALD_RETENTION=off an old delivered notification stays"
is "$(metric_sum herald_pruned_rows_total)" 0 "nothing pruned"
stop_herald
is "$(rows notifications) $(rows events)" "4 4" "all rows still there"

# ---- 1h deletes the old finished ones -------------------------------------
# (and the stories of 2 h ago, past both the retention and the story window)
start_herald HERALD_RETENTION=1h HERALD_STORY_WINDOW=1h
wait_until 30 eval 'state_is "$N1" gone && state_is "$N2" gone && state_is "$N3" gone'
ok $? "the three old delivered notifications are gone from the API"
like "$(state "$N4")" '^(retrying|delivered)$' "the old retrying one is kept (retrying until its retry is due)"
api GET "/api/v1/notifications?limit=100"
is "$(printf '%s' "$BODY" | jq -c '[.notifications[].id]')" "[$N4]" "the delivery log lists only it"
like "$(grep 'msg=pruned' "$HERALD_ERR")" \
	'level=info msg=pruned attempts=3 notifications=3 events=3 stories=3 silences=0 digests=0 resolutions=0 batches=1 longest_batch_ms=[0-9.]+ duration_ms=' \
	"one info line for the pass, with the counts"
is "$(metric_sum herald_pruned_rows_total table=notifications) $(metric_sum herald_pruned_rows_total table=events) $(metric_sum herald_pruned_rows_total table=attempts)" \
	"3 3 3" "herald_pruned_rows_total counts per table"
like "$(metric herald_prune_last_run_timestamp_seconds)" '^1[0-9]{9}' "herald_prune_last_run_timestamp_seconds is set"
is "$(metric_sum herald_prune_batch_seconds_count)" 1 "herald_prune_batch_seconds observed the batch"
is "$(metric_sum herald_pruned_rows_total table=stories)" 3 "and the stories"
is "$(rows events) $(rows attempts) $(rows stories)" "1 $A4 0" "their events, attempts and stories are gone; r4's event and attempts are kept"

wait_until 90 state_is "$N4" delivered
ok $? "the kept one is delivered when its retry is due"

# ---- idempotency lasts as long as the retention ---------------------------
api POST /api/v1/events "[$(ev r4)]"
is "$STATUS $(nid r4) $(printf '%s' "$BODY" | jq -r '.accepted[0].duplicate')" "200 $N4 true" \
	"r4 sent again: a duplicate of the kept event"
api POST /api/v1/events "[$(ev r1)]"
NEW1=$(nid r1)
is "$STATUS $(printf '%s' "$BODY" | jq -r '.accepted[0].duplicate')" "202 false" \
	"r1 sent again after its event was pruned: a new event"
[ "$NEW1" -gt "$N4" ]
ok $? "with a new notification id ($NEW1)"
wait_until 30 state_is "$NEW1" delivered
ok $? "and it is posted again"
is "$(messages deploys | jq '[.slack[] | select(.text | contains("r1"))] | length')" 1 \
	"the fake (reset since the first post) shows it once"
stop_herald
is "$HERALD_RC" 0 "herald stops cleanly while the pruner waits"
no_sanitizer_reports

done_testing
