#!/bin/bash
# Secrets never leave herald serve: a token the platform echoes back (in a
# Slack error code, in a Discord error message) and the password of an API
# URL (https://user:pass@host/api) appear in no API answer, no log line and
# nowhere in the database file; `herald config` (human and --json) does
# not show the password either.
. "$(dirname "$0")/lib.sh"
need_jq

SLACK_SECRET=xoxb-4242-ECHOCHECK-s3cr3t-1a2b3c4d5e
DISCORD_SECRET=MTE4ECHOCHECK.discord-s3cr3t.Qq9Ww8
URL_PASSWORD=URLPASS-s3cr3t-7f6e5d
cat >"$T/state.json" <<EOF
{"slack": {"token": "$SLACK_SECRET"}, "discord": {"token": "$DISCORD_SECRET"}}
EOF
start_fake --slack-rate 0 --quiet --state "$T/state.json"
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'

# wait_state ID STATE: waits (up to 30 s) until notification ID is in STATE.
wait_state() {
	wait_until 30 eval 'api GET /api/v1/notifications/'"$1"' &&
		[ "$(printf "%s" "$BODY" | jqr .state)" = "'"$2"'" ]'
}

# nowhere NAME SECRET: one test that SECRET is in none of the API answers
# gathered in $T/answers, the logs of herald, and the database files.
nowhere() {
	local where
	where=$(grep -laF -- "$2" "$T/answers" "$T"/herald.*.err "$T"/herald.*.out \
		"$T"/herald.db* 2>/dev/null | sed "s|$T/||" | tr '\n' ' ')
	is "$where" "" "$1: nowhere in the API answers, logs or database"
}

# answers ID...: GETs each notification and the list into $T/answers.
answers() {
	local id
	for id in "$@"; do
		api GET "/api/v1/notifications/$id"
		printf '%s\n' "$BODY" >>"$T/answers"
	done
	api GET "/api/v1/notifications?limit=1000"
	printf '%s\n' "$BODY" >>"$T/answers"
	api GET /readyz
	printf '%s\n' "$BODY" >>"$T/answers"
}

# ---- Slack echoes the token as its error code ---------------------------------
export NOTIFICATIONS_PROVIDER=slack NOTIFICATIONS_TOKEN=$SLACK_SECRET
export HERALD_SLACK_API_URL=$SLACK_URL
start_herald HERALD_LOG_LEVEL=debug
# A retryable 5xx, then a permanent error, both quoting the token.
fake_fault '{"platform":"slack","path":"chat.postMessage","status":503,"error":"{auth}"}'
fake_fault '{"platform":"slack","path":"chat.postMessage","error":"{auth}"}'
api POST /api/v1/events '{"type":"message","title":"echo"}'
is "$STATUS" 202 "slack: accepted"
wait_state 1 failed
ok $? "slack: the post fails on the echoed error"
like "$(grep -c ECHOCHECK "$FAKE_RECORD")" '^[1-9]' "slack: the fake did echo the token"
answers 1
api GET /api/v1/notifications/1
is "$(printf '%s' "$BODY" | jqr .last_error.code)" "…" \
	"slack: the API shows the echoed code as …"
stop_herald
nowhere "slack: the echoed token" "$SLACK_SECRET"

# ---- Discord echoes the token in its error message ---------------------------
rm -f "$T"/herald.db* "$T/answers"
export NOTIFICATIONS_PROVIDER=discord NOTIFICATIONS_TOKEN=$DISCORD_SECRET
export NOTIFICATIONS_DISCORD_GUILD=1180000000000000100
export HERALD_DISCORD_API_URL=$DISCORD_URL
export NOTIFICATIONS_DEFAULT_CHANNEL=1180000000000000201
start_herald HERALD_LOG_LEVEL=debug
fake_fault '{"platform":"discord","path":"/messages","status":403,"code":50013,"message":"Missing Permissions for {auth}"}'
api POST /api/v1/events '{"type":"message","title":"echo"}'
wait_state 1 failed
ok $? "discord: the post fails on the echoed error"
answers 1
api GET /api/v1/notifications/1
like "$(printf '%s' "$BODY" | jqr .last_error.message)" 'Missing Permissions for …' \
	"discord: the API shows the message with the token redacted"
stop_herald
nowhere "discord: the echoed token" "$DISCORD_SECRET"

# ---- a password in the API URL -----------------------------------------------
rm -f "$T"/herald.db* "$T/answers"
export NOTIFICATIONS_PROVIDER=slack NOTIFICATIONS_TOKEN=$SLACK_SECRET
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
unset NOTIFICATIONS_DISCORD_GUILD
CLOSED_PORT=$(free_port)
export HERALD_SLACK_API_URL="http://bot:$URL_PASSWORD@127.0.0.1:$CLOSED_PORT/slack/api"

run config
is "$RC" 0 "config: the URL with a password is valid"
unlike "$OUT$ERR" "$URL_PASSWORD" "config: the password is not shown"
like "$OUT" "Slack API: +http://bot:…@127.0.0.1:$CLOSED_PORT/slack/api" \
	"config: the URL is shown with … for the password"
run config --json
unlike "$OUT$ERR" "$URL_PASSWORD" "config --json: the password is not shown"
is "$(printf '%s' "$OUT" | jqr .slack_api_url)" "http://bot:…@127.0.0.1:$CLOSED_PORT/slack/api" \
	"config --json: slack_api_url has … for the password"
HERALD_SLACK_API_URL="http://bot:$URL_PASSWORD@chat.example/api" run send --type message --title x
unlike "$OUT$ERR" "$URL_PASSWORD" "send: a refused URL is quoted without the password"
like "$ERR" 'http://bot:…@chat.example/api' "send: ... with … in its place"

# Nobody listens there: the post fails with an error that names the URL.
start_herald HERALD_LOG_LEVEL=debug HERALD_MAX_ATTEMPTS=1
api POST /api/v1/events '{"type":"message","title":"to a closed port"}'
wait_state 1 dead
ok $? "serve: the post to a closed port gives up"
answers 1
api GET /api/v1/notifications/1
like "$(printf '%s' "$BODY" | jqr .last_error.message)" "http://bot:…@127.0.0.1:$CLOSED_PORT/" \
	"serve: the stored error names the URL with … for the password"
stop_herald
nowhere "serve: the URL's password" "$URL_PASSWORD"
HERALD_SLACK_API_URL="http://bot:$URL_PASSWORD@chat.example/api" try_start_herald
wait_exit "$HERALD_PID" 10
unlike "$(cat "$HERALD_ERR")" "$URL_PASSWORD" "serve: a refused URL at start is quoted without the password"

no_sanitizer_reports
done_testing
