#!/bin/bash
# herald serve: the weekly summary (docs/summary.md) against the fake Slack
# and the fake Discord, with their real rate limits. Events of last week go
# in; a herald started after this week's scheduled time posts last week's
# summary on start, once, to the default channel; restarts (clean and
# kill -9) do not post it again; `herald summary --json` has the numbers;
# and, on Slack, a herald running at the scheduled minute posts it then.
# Times are UTC (TZ=UTC); the events are put in last week by their
# timestamps.
. "$(dirname "$0")/lib.sh"
need_jq
export TZ=UTC

NOW=$(date +%s)
# Last week's Monday 00:00 (UTC), the start of the summarized week.
DOW=$(date -u -d "@$NOW" +%u)
THIS_MONDAY=$(( NOW - NOW % 86400 - (DOW - 1) * 86400 ))
P0=$(( THIS_MONDAY - 7 * 86400 ))
WEEK=$(date -u -d "@$P0" +%G-W%V)
at() { date -u -d "@$((P0 + $1))" +%Y-%m-%dT%H:%M:%SZ; }

EVENTS="[
 {\"type\":\"deploy\",\"status\":\"succeeded\",\"app\":\"api\",\"env\":\"production\",\"actor\":\"jane\",\"version\":\"v1.4.2\",\"timestamp\":\"$(at 36000)\",\"id\":\"e1\"},
 {\"type\":\"deploy\",\"status\":\"failed\",\"app\":\"api\",\"env\":\"production\",\"actor\":\"jane\",\"version\":\"v1.4.3\",\"timestamp\":\"$(at 86400)\",\"id\":\"e2\"},
 {\"type\":\"rollback\",\"status\":\"succeeded\",\"app\":\"api\",\"env\":\"production\",\"actor\":\"bob\",\"version\":\"v1.4.2\",\"timestamp\":\"$(at 90000)\",\"id\":\"e3\"},
 {\"type\":\"deploy\",\"status\":\"succeeded\",\"app\":\"api\",\"env\":\"staging\",\"actor\":\"bob\",\"version\":\"v1.5.0\",\"timestamp\":\"$(at 172800)\",\"id\":\"e4\"},
 {\"type\":\"alert\",\"status\":\"firing\",\"app\":\"api\",\"env\":\"production\",\"alert\":{\"name\":\"CrashLoop\"},\"timestamp\":\"$(at 259200)\",\"id\":\"e5\"},
 {\"type\":\"alert\",\"status\":\"resolved\",\"app\":\"api\",\"env\":\"production\",\"alert\":{\"name\":\"CrashLoop\"},\"timestamp\":\"$(at 266400)\",\"id\":\"e6\"}
]"

start_fake
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export NOTIFICATIONS_DISCORD_GUILD=1180000000000000100

# summaries: how many of the fake's messages in #deploys are the summary.
summaries() {
	messages deploys | jq --arg w "Weekly summary $WEEK" --arg pl "$PL" \
		'[.[$pl][] | select((.text // .content // "") | contains($w))] | length'
}
one_summary() { [ "$(summaries)" = 1 ]; }

# The first herald has no schedule: it stores the events and posts them.
load_events() {
	start_herald
	api POST /api/v1/events "$EVENTS"
	is "$STATUS" 202 "$PL: last week's events accepted"
	wait_until 60 sh -c "[ \"\$(curl -fsS '$HERALD_URL/api/v1/notifications?state=delivered' | jq '.notifications | length')\" -ge 5 ]"
	stop_herald
}

summary_case() {
	PL=$1
	fake_reset
	rm -f "$T"/herald.db*
	"use_$PL"
	load_events
	is "$(summaries)" 0 "$PL: no summary without HERALD_SUMMARY"

	# Started after this week's Monday 00:00: last week's summary on start.
	start_herald HERALD_SUMMARY="mon 00:00"
	wait_until 60 one_summary
	ok $? "$PL: a herald started after the scheduled time posts the summary of $WEEK on start"
	like "$(cat "$HERALD_ERR")" "weekly summary submitted\" week=$WEEK destination=#deploys" \
		"$PL: the log says so"
	is "$(metric herald_summaries_posted_total)" 1 "$PL: herald_summaries_posted_total"
	is "$(metric herald_summary_last_week)" "${WEEK/-W/}" "$PL: herald_summary_last_week"
	api GET "/api/v1/notifications?limit=1"
	is "$(printf '%s' "$BODY" | jq -r '.notifications[0].event.id')" "summary-$WEEK" \
		"$PL: the notification's event is summary-$WEEK"

	if [ "$PL" = slack ]; then
		messages deploys | jq -r --arg w "$WEEK" '.slack[] | select(.text | contains("Weekly summary " + $w)) | .blocks | tostring' >"$T/blocks"
		like "$(cat "$T/blocks")" "\\*production\\*: 2 deploys \\(1 failed\\), 1 rollback" \
			"slack: deploys per environment"
		like "$(cat "$T/blocks")" "Alerts fired for 2h in total \\(1 alert\\); none fired the week before" \
			"slack: the alert time"
		like "$(cat "$T/blocks")" "\\*api\\*: staging v1.5.0, production v1.4.2" \
			"slack: staging ahead of production"
	else
		messages deploys | jq -r --arg w "$WEEK" '.discord[] | select(.content | contains("Weekly summary " + $w)) | .embeds[0].description' >"$T/desc"
		like "$(cat "$T/desc")" "production\\*\\*: 2 deploys \\(1 failed\\), 1 rollback" \
			"discord: deploys per environment"
		like "$(cat "$T/desc")" "1\\. bob \\(2 deploys\\)" "discord: the deployers"
	fi

	# Restarts, clean and kill -9, at and after the scheduled time: once.
	stop_herald
	start_herald HERALD_SUMMARY="mon 00:00"
	wait_until 5 sh -c "grep -q 'weekly summary scheduled' '$HERALD_ERR'"
	sleep 2
	kill9_herald
	start_herald HERALD_SUMMARY="mon 00:00"
	sleep 3
	is "$(summaries)" 1 "$PL: restarts (clean and kill -9) do not post it again"
	is "$(metric herald_summaries_posted_total)" 0 "$PL: nothing stored again after the restart"
	is "$(metric herald_summary_last_week)" "${WEEK/-W/}" "$PL: the restarted herald knows the week's summary is stored"
	stop_herald

	# The numbers, offline.
	run summary --json --database "$T/herald.db"
	is "$RC" 0 "$PL: herald summary --json"
	is "$(printf '%s' "$OUT" | jq -r .week)" "$WEEK" "$PL: --json defaults to the last complete week"
	is "$(printf '%s' "$OUT" | jq -c '[.environments[] | [.env, .deploys, .failed, .rollbacks]]')" \
		'[["production",2,1,1],["staging",1,0,0]]' "$PL: deploys, failed and rollbacks per environment"
	is "$(printf '%s' "$OUT" | jq -c '[.deployers[] | [.actor, .deploys]]')" '[["bob",2],["jane",2]]' \
		"$PL: the deployers"
	is "$(printf '%s' "$OUT" | jq -c '[.alerts.firing_seconds, .alerts.previous_firing_seconds, .alerts.stories]')" \
		'[7200,0,1]' "$PL: alert firing time against the week before"
	is "$(printf '%s' "$OUT" | jq -c '[.ahead[] | [.app, .env, .version, .behind_env, .behind_version]]')" \
		'[["api","staging","v1.5.0","production","v1.4.2"]]' "$PL: staging ahead of production"
	is "$(printf '%s' "$OUT" | jq -r .events)" 6 "$PL: the summary itself is not counted"
	run summary --week "$WEEK" --database "$T/herald.db"
	like "$OUT" "Weekly summary $WEEK: 3 deploys \\(1 failed\\), 1 rollback" "$PL: herald summary prints text"
}

summary_case slack
summary_case discord

# At the scheduled minute, while running: the next minute (at least 15 s
# ahead), when it is still in this week.
PL=slack
fake_reset
rm -f "$T"/herald.db*
use_slack
load_events
NOWS=$(date +%s)
NEXT=$(( (NOWS / 60 + 1) * 60 ))
[ $(( NEXT - NOWS )) -ge 15 ] || NEXT=$(( NEXT + 60 ))
if [ "$NEXT" -ge $(( THIS_MONDAY + 7 * 86400 )) ]; then
	skip "slack: the summary at the scheduled minute" "the next minute is in next week"
else
	when="$(date -u -d "@$NEXT" +%a | tr A-Z a-z) $(date -u -d "@$NEXT" +%H:%M)"
	start_herald HERALD_SUMMARY="$when"
	sleep 1
	if [ "$(date +%s)" -lt "$NEXT" ]; then
		is "$(summaries)" 0 "slack: nothing before the scheduled minute ($when)"
	else
		skip "slack: nothing before the scheduled minute" "the machine was too slow"
	fi
	wait_until 150 one_summary
	ok $? "slack: the summary is posted at the scheduled minute ($when)"
	sleep 2
	is "$(summaries)" 1 "slack: once"
	stop_herald
fi

done_testing
