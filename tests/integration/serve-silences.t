#!/bin/bash
# herald serve: silences (docs/silences.md) against the fake Slack, with its
# real per-channel rate limit. A matching event is stored as silenced (with
# the silence's ID) and not posted; others post; a story posted before the
# silence still gets its success edited in; the silence survives a
# restart; ending it replays nothing and later events post again; invalid
# silences are refused and store nothing; the CLI's add, list and end talk
# to the daemon; herald route names the silence; the metrics count them.
. "$(dirname "$0")/lib.sh"
need_jq

# deploy STATUS SHA EVENT-ID [APP]: a deploy of APP (api) to staging.
deploy() {
	printf '{"type":"deploy","status":"%s","app":"%s","env":"staging","sha":"%s","id":"%s"}' \
		"$1" "${4:-api}" "$2" "$3"
}

send() {
	api POST /api/v1/events "$1"
	[ "$STATUS" = 202 ] || echo "# POST /api/v1/events: $STATUS $BODY"
}

# nfield EVENT-ID JQ: the field JQ of the notification of event EVENT-ID.
nfield() {
	api GET "/api/v1/notifications?limit=1000"
	printf '%s' "$BODY" | jq -r --arg e "$1" ".notifications[] | select(.event.id == \$e) | $2"
}

state_is() { [ "$(nfield "$1" .state)" = "$2" ]; }

# wait_state EVENT-ID STATE: waits (up to 30 s) for it; one test.
wait_state() {
	wait_until 30 state_is "$1" "$2"
	ok $? "$1 is $2"
	state_is "$1" "$2" || echo "#   it is $(nfield "$1" .state)"
}

# msgs SHA: the fake's messages holding SHA, as "EDITED TEXT" lines.
msgs() {
	messages deploys | jq -r --arg s "$1" \
		'.slack[] | select((.text // "") | contains($s)) | "\(.edited) \(.text)"'
}

silences_active() { [ "$(metric_sum herald_silences_active)" = "$1" ]; }

start_fake
use_slack
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export HERALD_API_TOKEN=silence-test-token
API_TOKEN=$HERALD_API_TOKEN
start_herald
export HERALD_URL

# ---- invalid silences store nothing -----------------------------------------
api POST /api/v1/silences '{"match": {"app": "api"}, "duration": "2h"}'
is "$STATUS" 400 "a silence without a comment is refused"
like "$BODY" 'comment is missing' "saying so"
api POST /api/v1/silences '{"match": {"app": "api"}, "comment": "x"}'
is "$STATUS" 400 "a silence without an end is refused"
api POST /api/v1/silences '{"match": {"app": "api"}, "duration": "31d", "comment": "x"}'
like "$STATUS $BODY" '^400 .*30 days' "one over 30 days too"
api POST /api/v1/silences '{"match": {"application": "api"}, "duration": "2h", "comment": "x"}'
like "$STATUS $BODY" '^400 .*unknown matcher \\"application\\": expected app, env' \
	"an unknown matcher is named, with the allowed ones"
api GET /api/v1/silences
is "$(printf '%s' "$BODY" | jqr '.silences | length')" 0 "none of them was stored"
run silence add app=api --for 2h
is "$RC" 2 "herald silence add without --comment is a usage error"
run silence add apps=api --for 2h --comment x
like "$RC $ERR" '^2 .*unknown name "apps"' "and so is an unknown matcher"

# ---- a story started before the silence -------------------------------------
send "$(deploy started aaa0001 s1-started)"
wait_state s1-started delivered

# ---- add a silence with the CLI ---------------------------------------------
run silence add app=api env=staging --for 2h --comment "api staging rebuilt" --by jane
is "$RC" 0 "herald silence add succeeds"
SID=$OUT
like "$SID" '^[0-9]+$' "and prints the silence's ID"
api GET "/api/v1/silences/$SID"
is "$(printf '%s' "$BODY" | jqr '[.state, .match.app, .match.env, .created_by, .comment] | join(" ")')" \
	"active api staging jane api staging rebuilt" "the API shows it as added"
wait_until 10 silences_active 1
ok $? "herald_silences_active is 1"

# ---- matching events are silenced, others post, edits go ---------------------
send "$(deploy started bbb0002 s2-started)"
send "$(deploy started ccc0003 web-started web)"
send "$(deploy succeeded aaa0001 s1-succeeded)"
wait_state s2-started silenced
is "$(nfield s2-started .silence_id)" "$SID" "its silence_id is the silence"
like "$(nfield s2-started .last_error.message)" "^silenced by silence $SID \\(\"api staging rebuilt\"\\)$" \
	"and its reason says which, with the comment"
wait_state web-started delivered
wait_state s1-succeeded delivered
is "$(msgs aaa0001 | wc -l)" 1 "the story started before the silence has one message"
like "$(msgs aaa0001)" '^true ' "edited to its success during the silence"
is "$(msgs bbb0002 | wc -l)" 0 "the silenced deploy was not posted"
api GET "/api/v1/notifications?state=silenced"
is "$(printf '%s' "$BODY" | jqr '[.notifications[].event.id] | join(" ")')" s2-started \
	"?state=silenced lists it"
is "$(metric_sum herald_notifications_total state=silenced)" 1 \
	"herald_notifications_total{state=\"silenced\"} counts it"

# ---- herald route names the silence -----------------------------------------
deploy started ddd0004 route-1 >"$T/route.json"
HERALD_DATABASE="$T/herald.db" "$HERALD" route "$T/route.json" >"$T/out" 2>"$T/err"
like "$(cat "$T/out")" "silenced: +by silence $SID until .*\"api staging rebuilt\"" \
	"herald route says the event would be silenced, and by which silence"
HERALD_DATABASE="$T/herald.db" "$HERALD" route --json "$T/route.json" >"$T/out" 2>"$T/err"
is "$(jqr .silence.id <"$T/out")" "$SID" "herald route --json names it too"
deploy started ddd0004 route-2 web >"$T/route.json"
HERALD_DATABASE="$T/herald.db" "$HERALD" route "$T/route.json" >"$T/out" 2>"$T/err"
unlike "$(cat "$T/out")" "silenced" "and says nothing for an event no silence matches"
HERALD_DATABASE="$T/none.db" "$HERALD" route "$T/route.json" >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/err")" "0:" "without a database herald route says nothing of silences"
ok "$([ ! -e "$T/none.db" ]; echo $?)" "and creates none"

# ---- the CLI lists it --------------------------------------------------------
run silence list
is "$RC" 0 "herald silence list succeeds"
like "$OUT" "^ID +STATE +STARTS +ENDS +BY +SILENCED +MATCHERS +COMMENT" "with a header"
like "$OUT" "$SID +active +[0-9T:-]+Z +[0-9T:-]+Z +jane +1 +app=api env=staging +api staging rebuilt" \
	"and the silence on one line, with how many notifications it held back"
run silence list --json
is "$(printf '%s' "$OUT" | jqr .id)" "$SID" "--json prints the API's objects"
(unset HERALD_URL; HERALD_LISTEN="0.0.0.0:$HERALD_PORT" "$HERALD" silence list >"$T/out" 2>"$T/err")
rc=$?
like "$rc $(grep active "$T/out")" "^0 $SID +active" \
	"without HERALD_URL it finds the daemon at HERALD_LISTEN (0.0.0.0 as loopback)"
HERALD_API_TOKEN=wrong run silence list
like "$RC $ERR" "^1 .*HERALD_API_TOKEN" "a wrong token is refused, naming HERALD_API_TOKEN"

# ---- it survives a restart ---------------------------------------------------
stop_herald
start_herald
export HERALD_URL
wait_until 10 silences_active 1
ok $? "after a restart herald_silences_active is 1 again"
send "$(deploy started eee0005 s3-started)"
wait_state s3-started silenced

# ---- ending it ---------------------------------------------------------------
run silence end "$SID"
like "$RC $OUT" "^0 silence $SID ended at " "herald silence end ends it"
api GET "/api/v1/silences/$SID"
is "$(printf '%s' "$BODY" | jqr '[.state, .silenced] | join(" ")')" "expired 2" \
	"the API shows it expired, having held back two notifications"
wait_until 10 silences_active 0
ok $? "herald_silences_active is 0"
run silence end "$SID"
is "$RC" 0 "ending it again changes nothing and succeeds"
run silence end 99999
like "$RC $ERR" "^1 .*silence 99999 does not exist" "an unknown silence is an error"
run silence list --expired
like "$OUT" "$SID +expired" "--expired lists it"

# A silence runs out by itself.
run silence add app=nobody --for 2s --comment "a short one"
is "$RC" 0 "a two-second silence is added"
wait_until 10 silences_active 1
ok $? "herald_silences_active counts it"
wait_until 15 silences_active 0
ok $? "and drops to 0 when it runs out"
api GET "/api/v1/silences/$OUT"
is "$(printf '%s' "$BODY" | jqr '[.state, .ended_at] | join(" ")')" "expired " \
	"it is expired, without ended_at (it was not ended early)"

# A silence scheduled for later is pending until it starts.
run silence add app=later --from "$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)" \
	--for 1h --comment "a window"
is "$RC" 0 "a silence starting in 4 s is added (--from)"
LATER=$OUT
api GET "/api/v1/silences/$LATER"
is "$(printf '%s' "$BODY" | jqr .state)" pending "it is pending"
run silence list --pending
like "$OUT" "$LATER +pending" "herald silence list --pending lists it"
is "$(metric_sum herald_silences_active)" 0 "a pending silence is not counted active"
wait_until 20 silences_active 1
ok $? "herald_silences_active counts it once it starts"
api GET "/api/v1/silences/$LATER"
is "$(printf '%s' "$BODY" | jqr .state)" active "and it is active"
run silence end "$LATER"
wait_until 10 silences_active 0
ok $? "ended, it is counted no more"
api POST /api/v1/silences '{"match": {"app": "x"}, "starts_at": "2099-01-01T00:00:00Z", "duration": "1h", "comment": "x"}'
like "$STATUS $BODY" '^400 .*starts_at .* more than 30 days away' \
	"a start more than 30 days away is refused"

send "$(deploy started fff0006 s4-started)"
wait_state s4-started delivered
is "$(msgs fff0006 | wc -l)" 1 "after the end, a new event posts"
is "$(msgs bbb0002 | wc -l)$(msgs eee0005 | wc -l)" 00 "nothing silenced is replayed"
is "$(nfield s2-started .state) $(nfield s3-started .state)" "silenced silenced" \
	"the silenced notifications stay silenced"
requests chat.postMessage >"$T/reqs.json"
is "$(jq '[.[] | select(.status == 429)] | length' "$T/reqs.json")" 0 "no 429 from the fake"

stop_herald
no_sanitizer_reports
done_testing
