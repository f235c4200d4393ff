#!/bin/bash
# herald serve: the story rules (docs/delivery.md#stories) against the fake
# Slack and the fake Discord. A late event older than what the story's
# message shows is superseded; a repeat is unchanged; an edit-only event
# with nothing to edit is skipped; HERALD_STORY_WINDOW closes a story; a
# deleted message is replaced by a new one that later events edit; a
# restart keeps it all.
. "$(dirname "$0")/lib.sh"
need_jq

# An hour ago: the events' times, in whole seconds.
T0=$(( $(date +%s) - 3600 ))

# deploy STATUS SHA OFFSET EVENT-ID [EXTRA]: a deploy of api to prod at
# T0 + OFFSET seconds.
deploy() {
	printf '{"type":"deploy","status":"%s","app":"api","env":"prod","sha":"%s","timestamp":"%s","id":"%s"%s}' \
		"$1" "$2" "$(date -u -d "@$((T0 + $3))" +%Y-%m-%dT%H:%M:%SZ)" "$4" "${5:-}"
}

# send JSON: posts events; fails unless herald answers 202.
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

# wait_state EVENT-ID STATE: waits (up to 20 s) for it; one test.
wait_state() {
	wait_until 20 state_is "$1" "$2"
	ok $? "$PL: $1 is $2"
	state_is "$1" "$2" || echo "#   it is $(nfield "$1" .state)"
}

# story_msgs SHA: the fake's messages of the story, oldest first, as
# "TS-OR-ID EDITED TEXT" lines.
story_msgs() {
	messages deploys | jq -r --arg s "$1" --arg pl "$PL" \
		'.[$pl][] | select((.text // .content // "") | contains($s))
		 | "\(.ts // .id) \(.edited) \(.text // .content)"'
}

# story_reqs SHA: how many platform requests the fake got for the story.
story_reqs() {
	requests | jq --arg s "$1" \
		'[.[] | select(.platform != "none") | select(.body | tostring | contains($s))] | length'
}

# refused_edits: the fake's answers that refused an edit: no such message.
refused_edits() {
	if [ "$PL" = slack ]; then
		requests chat.update | jq '[.[] | select(.response.error == "message_not_found")] | length'
	else
		requests /messages | jq '[.[] | select(.method == "PATCH" and .status == 404 and .response.code == 10008)] | length'
	fi
}

start_fake --slack-rate 0 --discord-bucket-limit 1000 --discord-bucket-window 1
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export NOTIFICATIONS_DISCORD_GUILD=1180000000000000100
export HERALD_SLACK_RATE=50 HERALD_SLACK_BURST=50

stories() {
	PL=$1
	local mid old new before

	fake_reset
	rm -f "$T"/herald.db*
	"use_$PL"
	start_herald

	# ---- never backwards ------------------------------------------------
	send "[$(deploy started aaa0001 0 "$PL-a1"), $(deploy succeeded aaa0001 60 "$PL-a2")]"
	wait_until 20 state_is "$PL-a2" delivered
	send "$(deploy started aaa0001 30 "$PL-a3")"
	wait_state "$PL-a3" superseded
	is "$(nfield "$PL-a3" .last_error.code)" superseded "$PL: the API says why (code)"
	is "$(story_msgs aaa0001 | wc -l)" 1 "$PL: the story is one message"
	like "$(story_msgs aaa0001)" ' true .*api aaa0001 is live on prod' \
		"$PL: it shows succeeded, not the late started"
	is "$(story_reqs aaa0001)" 2 "$PL: a post and one edit; nothing for the late event"
	api GET "/api/v1/notifications?state=superseded"
	is "$(printf '%s' "$BODY" | jq -r '[.notifications[].event.id] | join(" ")')" "$PL-a3" \
		"$PL: ?state=superseded lists it"

	# ---- unchanged ------------------------------------------------------
	send "[$(deploy started bbb0002 0 "$PL-b1"), $(deploy started bbb0002 0 "$PL-b2")]"
	wait_state "$PL-b2" unchanged
	is "$(nfield "$PL-b1" .state)" delivered "$PL: the first was delivered"
	is "$(story_reqs bbb0002)" 1 "$PL: the same content again: no edit at the fake"
	like "$(story_msgs bbb0002)" ' false .*Rolling out api bbb0002' "$PL: the message is as posted"

	# ---- edit-only without a story --------------------------------------
	before=$(requests | jq length)
	send "$(deploy succeeded ccc0003 0 "$PL-c1" ',"edit_only":true')"
	wait_state "$PL-c1" skipped
	is "$(requests | jq length)" "$before" "$PL: an edit-only event with nothing to edit sends nothing"
	is "$(story_msgs ccc0003 | wc -l)" 0 "$PL: and no message appears"

	is "$(metric_sum herald_notifications_total provider="$PL" state=superseded) \
$(metric_sum herald_notifications_total provider="$PL" state=unchanged) \
$(metric_sum herald_notifications_total provider="$PL" state=skipped)" "1 1 1" \
		"$PL: herald_notifications_total counts superseded, unchanged, skipped"

	# ---- without a time, an event is as new as when it was accepted -----
	send "$(deploy started hhh0008 0 "$PL-h1")"
	wait_until 20 state_is "$PL-h1" delivered
	send '{"type":"deploy","status":"succeeded","app":"api","env":"prod","sha":"hhh0008","id":"'"$PL-h2"'"}'
	wait_state "$PL-h2" delivered
	like "$(story_msgs hhh0008)" ' true .*api hhh0008 is live on prod' \
		"$PL: an untimed event after one timed an hour ago edits the message"

	# ---- the message is deleted -----------------------------------------
	send "$(deploy started ddd0004 0 "$PL-d1")"
	wait_until 20 state_is "$PL-d1" delivered
	old=$(nfield "$PL-d1" .message_id)
	curl -fsS -m 5 -X POST "$FAKE_URL/_fake/delete" -d "{\"message\":\"$old\"}" >/dev/null
	ok $? "$PL: the fake deletes the story's message"
	is "$(story_msgs ddd0004 | wc -l)" 0 "$PL: it is gone from the fake"
	send "$(deploy succeeded ddd0004 60 "$PL-d2")"
	wait_state "$PL-d2" delivered
	new=$(nfield "$PL-d2" .message_id)
	ok $([ -n "$new" ] && [ "$new" != null ] && [ "$new" != "$old" ]; echo $?) \
		"$PL: the next event posted a new message ($old, then $new)"
	is "$(refused_edits)" 1 "$PL: after the platform refused the edit"
	like "$(cat "$HERALD_ERR")" 'msg="story message cannot be edited; posting a new one"' \
		"$PL: herald logs why it posts"
	send "$(deploy failed ddd0004 120 "$PL-d3")"
	wait_state "$PL-d3" delivered
	is "$(nfield "$PL-d3" .message_id)" "$new" "$PL: a later event edits the new message"
	like "$(story_msgs ddd0004)" "^$new true .*Rollout of api ddd0004 to prod failed\$" \
		"$PL: one message, edited to failed"

	# ---- a restart in the middle of a story -----------------------------
	send "$(deploy started eee0005 0 "$PL-e1")"
	wait_until 20 state_is "$PL-e1" delivered
	stop_herald
	start_herald
	send "$(deploy succeeded eee0005 60 "$PL-e2")"
	wait_state "$PL-e2" delivered
	send "$(deploy started eee0005 30 "$PL-e3")"
	wait_state "$PL-e3" superseded
	is "$(story_msgs eee0005 | wc -l)" 1 "$PL: across a restart, the story is one message"
	is "$(nfield "$PL-e2" .message_id)" "$(nfield "$PL-e1" .message_id)" \
		"$PL: the edit after the restart names the first message"
	like "$(story_msgs eee0005)" ' true .*api eee0005 is live on prod' "$PL: which shows succeeded"
	stop_herald

	# ---- HERALD_STORY_WINDOW --------------------------------------------
	start_herald HERALD_STORY_WINDOW=2s
	send "$(deploy started fff0006 0 "$PL-f1")"
	wait_until 20 state_is "$PL-f1" delivered
	mid=$(nfield "$PL-f1" .message_id)
	sleep 2.5	# past the window
	send "[$(deploy succeeded fff0006 60 "$PL-f2" ',"edit_only":true'),
	       $(deploy succeeded fff0006 60 "$PL-f3"),
	       $(deploy failed fff0006 120 "$PL-f4")]"
	wait_state "$PL-f4" delivered
	is "$(nfield "$PL-f2" .state)" skipped "$PL: past the window an edit-only event is skipped"
	is "$(story_msgs fff0006 | wc -l)" 2 "$PL: past the window the story posts a second message"
	new=$(nfield "$PL-f3" .message_id)
	ok $([ "$new" != "$mid" ]; echo $?) "$PL: a new message ($mid, then $new)"
	is "$(nfield "$PL-f4" .message_id)" "$new" "$PL: the story follows it: the next event edits it"
	like "$(story_msgs fff0006 | head -1)" "^$mid false .*Rolling out api fff0006" \
		"$PL: the first message is left as it was"
	like "$(story_msgs fff0006 | tail -1)" "^$new true .*Rollout of api fff0006 to prod failed" \
		"$PL: the second shows the latest"
	stop_herald
}

stories slack
stories discord

no_sanitizer_reports
done_testing
