#!/usr/bin/env bash
# Self-test of herald-fake, the fake Slack and Discord server the other
# integration tests run herald against: every behaviour they rely on (auth
# errors, channel resolution, Block Kit and embed limits, rate limits with
# Retry-After, Discord nonces and X-RateLimit headers, fault injection, the
# request record) is checked here with curl, so a failing herald test points
# at herald and not at the fake. TAP output; needs bash, curl, grep, sed.
#
# HERALD_FAKE names the binary (default build/tests/fake/herald-fake). The
# fake runs on a free loopback port and is stopped by the EXIT trap. Rate
# limits are set so that no result depends on timing: buckets that must run
# dry refill over minutes, and delays are only checked as lower bounds.

set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
FAKE=${HERALD_FAKE:-$SRC/build/tests/fake/herald-fake}
T=$(mktemp -d "${TMPDIR:-/tmp}/fake-selftest.XXXXXX")
PID=

cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

. "$SRC/tests/integration/tap.sh"

# start_fake PORTFILE ARGS...: starts the fake in the background (PID) and
# waits up to 10 s for its port file; sets URL. Returns 1 when it did not start.
start_fake() {
	local portfile=$1
	shift
	"$FAKE" --listen 127.0.0.1:0 --port-file "$portfile" "$@" >"$T/stdout" 2>"$T/stderr" &
	PID=$!
	for _ in $(seq 1 100); do
		[ -s "$portfile" ] && break
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$portfile" ] || return 1
	URL="http://127.0.0.1:$(cat "$portfile")"
}

stop_fake() {	# sends SIGTERM; sets STOP_RC to the exit status
	kill -TERM "$PID" 2>/dev/null
	wait "$PID"
	STOP_RC=$?
	PID=
}

# req METHOD PATH [CURL-ARGS...]: sets STATUS, BODY, HEADERS (CRs removed), RC.
req() {
	local method=$1 path=$2
	shift 2
	: >"$T/headers"
	: >"$T/body"
	STATUS=$(curl -sS -m 10 -X "$method" -D "$T/headers" -o "$T/body" \
		-w '%{http_code}' "$@" "$URL$path" 2>"$T/curl-err")
	RC=$?
	BODY=$(cat "$T/body")
	HEADERS=$(tr -d '\r' <"$T/headers")
}

SLACK_AUTH='Authorization: Bearer xoxb-test-token'
JSON='Content-Type: application/json; charset=utf-8'
slack() {	# slack METHOD JSON-BODY
	req POST "/slack/api/$1" -H "$SLACK_AUTH" -H "$JSON" --data-binary "$2"
}

DISCORD_AUTH='Authorization: Bot discord-test-token'
DISCORD_UA='User-Agent: DiscordBot (https://github.com/herald-notify/herald, 0.1.0)'
discord() {	# discord METHOD PATH [JSON-BODY]
	if [ $# -ge 3 ]; then
		req "$1" "/discord/api/v10$2" -H "$DISCORD_AUTH" -H "$DISCORD_UA" \
			-H 'Content-Type: application/json' --data-binary "$3"
	else
		req "$1" "/discord/api/v10$2" -H "$DISCORD_AUTH" -H "$DISCORD_UA"
	fi
}

json_field() {	# json_field NAME TEXT: the first string value of "NAME"
	printf '%s' "$2" | grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | sed 's/^[^:]*:"//; s/"$//'
}

header() {	# header NAME: the value of response header NAME
	printf '%s\n' "$HEADERS" | sed -n "s/^$1: *//Ip" | head -n 1
}

repeat() {	# repeat CHAR COUNT (CHAR may be a multi-byte character)
	if [ "$(printf '%s' "$1" | wc -c)" -eq 1 ]; then
		head -c "$2" /dev/zero | tr '\0' "$1"
	else
		printf "$1%.0s" $(seq 1 "$2")
	fi
}

if [ ! -x "$FAKE" ]; then
	echo "Bail out! herald-fake is not built: $FAKE (set HERALD_FAKE)"
	exit 1
fi
if ! start_fake "$T/port" --record "$T/record.jsonl" --slack-rate 0 \
	--discord-bucket-limit 1000 --discord-bucket-window 60; then
	echo "Bail out! herald-fake did not start: $(cat "$T/stderr")"
	exit 1
fi

# --- startup and control API -------------------------------------------------

is "$(cat "$T/stdout")" "herald-fake listening on $URL" "prints the URL it listens on"
req GET /_fake/health
is "$STATUS" 200 "GET /_fake/health is 200"
req GET /_fake/config
like "$BODY" '"slack_rate":0[,.].*"discord_bucket_limit":1000,"discord_bucket_window":60' \
	"the command-line limits are in effect"

# --- Slack ----------------------------------------------------------------------

req POST /slack/api/auth.test
like "$STATUS $BODY" '^200 \{"ok":false,"error":"not_authed"' "Slack: no token is not_authed"
req POST /slack/api/auth.test -H 'Authorization: Bearer xoxb-wrong'
like "$BODY" '"error":"invalid_auth"' "Slack: a wrong token is invalid_auth"
req GET '/slack/api/auth.test?token=xoxb-test-token'
like "$BODY" '"error":"not_authed"' "Slack: a token in the query string is not accepted"
req POST /slack/api/auth.test -H "$SLACK_AUTH"
like "$BODY" '"ok":true.*"team":"Acme".*"user_id":"UBOT00001".*"bot_id":"B' "Slack: auth.test"
req POST /slack/api/no.such.method -H "$SLACK_AUTH"
like "$BODY" '"error":"unknown_method"' "Slack: unknown_method"

slack chat.postMessage '{"channel":"#deploys","text":"by name"}'
like "$BODY" '^\{"ok":true,"channel":"C0000000001","ts":"[0-9]{10}\.[0-9]{6}"' \
	"Slack: post by #name answers the channel ID and a ts"
TS1=$(json_field ts "$BODY")
unlike "$BODY" 'missing_charset' "Slack: no warning with charset=utf-8"
slack chat.postMessage '{"channel":"staging-deploys","text":"bare name"}'
like "$BODY" '"ok":true,"channel":"C0000000002"' "Slack: post by bare name"
req POST /slack/api/chat.postMessage -H "$SLACK_AUTH" -H 'Content-Type: application/json' \
	--data-binary '{"channel":"C0000000001","text":"by id"}'
like "$BODY" '"ok":true,"channel":"C0000000001".*"warnings":\["missing_charset"\]' \
	"Slack: post by ID; JSON without charset works with a missing_charset warning"
TS2=$(json_field ts "$BODY")
ok "$([[ -n "$TS1" && "$TS2" > "$TS1" ]]; echo $?)" \
	"Slack: ts increases ($TS1 < $TS2)"
req POST /slack/api/chat.postMessage -H "$SLACK_AUTH" \
	--data-urlencode 'channel=backend-deploys' --data-urlencode 'text=form post'
like "$BODY" '"ok":true,"channel":"C0000000004"' "Slack: form-encoded post"
slack chat.postMessage '{"channel":"U0000000001","text":"to a user"}'
like "$BODY" '"error":"channel_not_found"' "Slack: posting to a user ID is channel_not_found"
slack chat.postMessage '{"channel":"#nowhere","text":"x"}'
like "$BODY" '"error":"channel_not_found"' "Slack: unknown channel"
slack chat.postMessage '{"channel":"archived","text":"x"}'
like "$BODY" '"error":"is_archived"' "Slack: archived channel is is_archived"
slack chat.postMessage '{"channel":"secret-ops","text":"x"}'
like "$BODY" '"error":"not_in_channel"' "Slack: private channel without the bot is not_in_channel"
slack chat.postMessage '{"channel":"deploys"}'
like "$BODY" '"error":"no_text"' "Slack: neither text nor blocks is no_text"
slack chat.postMessage "{\"channel\":\"deploys\",\"text\":\"$(repeat x 40001)\"}"
like "$BODY" '"error":"msg_too_long"' "Slack: text over 40000 characters is msg_too_long"
slack chat.postMessage '{"channel":"deploys","text":"x","blocks":"not json"}'
like "$BODY" '"error":"invalid_blocks_format"' "Slack: blocks that are not an array"
slack chat.postMessage '{"channel":"deploys","text":"x","blocks":[{"type":"sparkles"}]}'
like "$BODY" '"error":"invalid_blocks".*unsupported block type' "Slack: unknown block type is invalid_blocks"
slack chat.postMessage "{\"channel\":\"deploys\",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"$(repeat y 3000)\"}}]}"
like "$BODY" '"ok":true' "Slack: section text of 3000 characters is accepted"
slack chat.postMessage "{\"channel\":\"deploys\",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"$(repeat y 3001)\"}}]}"
like "$BODY" '"error":"invalid_blocks".*json-pointer:/blocks/0/text/text' "Slack: section text of 3001 characters"
slack chat.postMessage '{"channel":"deploys","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"é"}}]}'
like "$BODY" '"ok":true' "Slack: non-ASCII text is accepted"
slack chat.postMessage "{\"channel\":\"deploys\",\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"$(repeat é 150)\"}}]}"
like "$BODY" '"ok":true' "Slack: header of 150 code points (300 bytes) is accepted"
slack chat.postMessage "{\"channel\":\"deploys\",\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"$(repeat h 151)\"}}]}"
like "$BODY" '"error":"invalid_blocks"' "Slack: header over 150 characters"
FIELDS=$(for i in $(seq 1 11); do printf '{"type":"mrkdwn","text":"f%s"},' "$i"; done)
slack chat.postMessage "{\"channel\":\"deploys\",\"blocks\":[{\"type\":\"section\",\"fields\":[${FIELDS%,}]}]}"
like "$BODY" '"error":"invalid_blocks".*no more than 10 items' "Slack: more than 10 section fields"
ELEMS=$(for i in $(seq 1 11); do printf '{"type":"mrkdwn","text":"e%s"},' "$i"; done)
slack chat.postMessage "{\"channel\":\"deploys\",\"blocks\":[{\"type\":\"context\",\"elements\":[${ELEMS%,}]}]}"
like "$BODY" '"error":"invalid_blocks"' "Slack: more than 10 context elements"
BLOCKS=$(for i in $(seq 1 51); do printf '{"type":"divider"},'; done)
slack chat.postMessage "{\"channel\":\"deploys\",\"text\":\"x\",\"blocks\":[${BLOCKS%,}]}"
like "$BODY" '"error":"invalid_blocks".*no more than 50 items' "Slack: more than 50 blocks"

slack chat.update "{\"channel\":\"C0000000001\",\"ts\":\"$TS1\",\"text\":\"edited\"}"
like "$BODY" "\"ok\":true,\"channel\":\"C0000000001\",\"ts\":\"$TS1\",\"text\":\"edited\"" \
	"Slack: chat.update by channel ID"
slack chat.update "{\"channel\":\"deploys\",\"ts\":\"$TS1\",\"text\":\"edited\"}"
like "$BODY" '"error":"channel_not_found"' "Slack: chat.update by name is channel_not_found"
slack chat.update '{"channel":"C0000000001","ts":"1.000001","text":"edited"}'
like "$BODY" '"error":"message_not_found"' "Slack: chat.update of an unknown ts"
req GET '/_fake/messages?channel=C0000000001'
like "$BODY" "\"ts\":\"$TS1\",\"text\":\"edited\".*\"edited\":true,\"history\":\\[\\{\"text\":\"by name\"" \
	"control: stored message keeps its edit history"

req POST /slack/api/conversations.open -H "$SLACK_AUTH" --data-urlencode 'users=U0000000001'
like "$BODY" '"ok":true.*"channel":\{"id":"D[A-Z0-9]+"\}' "Slack: conversations.open (form) gives a D channel"
DM=$(json_field id "$BODY")
slack conversations.open '{"users":"U0000000001"}'
is "$(json_field id "$BODY")" "$DM" "Slack: conversations.open (JSON) gives the same D for the same user"
req GET '/slack/api/conversations.open?users=U9999999999' -H "$SLACK_AUTH"
like "$BODY" '"error":"user_not_found"' "Slack: conversations.open of an unknown user"
slack chat.postMessage "{\"channel\":\"$DM\",\"text\":\"direct\"}"
like "$BODY" "\"ok\":true,\"channel\":\"$DM\"" "Slack: post into the opened DM"

req GET '/slack/api/users.lookupByEmail?email=jane@example.com' -H "$SLACK_AUTH"
like "$BODY" '"ok":true,"user":\{"id":"U0000000001".*"email":"jane@example.com"' "Slack: users.lookupByEmail"
req POST /slack/api/users.lookupByEmail -H "$SLACK_AUTH" --data-urlencode 'email=nobody@example.com'
like "$BODY" '"error":"users_not_found"' "Slack: users.lookupByEmail of an unknown address"

req GET /slack/api/users.list -H "$SLACK_AUTH"
COUNT=$(printf '%s' "$BODY" | grep -o '"team_id":"T0000000001","name"' | wc -l)
CURSOR=$(json_field next_cursor "$BODY")
is "$COUNT" 100 "Slack: users.list pages 100 users by default"
TOTAL=$COUNT
PAGES=1
ZOE=$(printf '%s' "$BODY" | grep -c '"name":"zoe"')
while [ -n "$CURSOR" ] && [ "$PAGES" -lt 20 ]; do
	req GET "/slack/api/users.list?limit=100&cursor=$CURSOR" -H "$SLACK_AUTH"
	TOTAL=$((TOTAL + $(printf '%s' "$BODY" | grep -o '"team_id":"T0000000001","name"' | wc -l)))
	ZOE=$((ZOE + $(printf '%s' "$BODY" | grep -c '"name":"zoe"')))
	CURSOR=$(json_field next_cursor "$BODY")
	PAGES=$((PAGES + 1))
done
ok "$([ "$TOTAL" -ge 250 ] && [ "$PAGES" -ge 3 ]; echo $?)" \
	"Slack: users.list cursors walk all users ($TOTAL users in $PAGES pages)"
is "$ZOE" 1 "Slack: the last page holds zoe"
req GET '/slack/api/users.list?limit=50' -H "$SLACK_AUTH"
is "$(printf '%s' "$BODY" | grep -o '"team_id":"T0000000001","name"' | wc -l)" 50 "Slack: users.list limit"
req GET '/slack/api/users.list?cursor=bogus' -H "$SLACK_AUTH"
like "$BODY" '"error":"invalid_cursor"' "Slack: users.list with a bad cursor"
req GET /slack/api/users.list -H "$SLACK_AUTH"
is "$(printf '%s' "$BODY" | grep -o '"real_name":"Sam Smith","real_name_normalized"' | wc -l)" 2 "Slack: two users share the real name Sam Smith"

req POST /_fake/config -H "$JSON" --data-binary '{"slack_rate":0.001,"slack_burst":3}'
like "$BODY" '"ok":true' "control: POST /_fake/config"
for i in 1 2 3; do slack chat.postMessage '{"channel":"production-deploys","text":"burst"}'; done
like "$STATUS $BODY" '^200 .*"ok":true' "Slack: the burst of 3 is accepted"
slack chat.postMessage '{"channel":"production-deploys","text":"one too many"}'
is "$STATUS" 429 "Slack: over the channel's rate is HTTP 429"
like "$BODY" '^\{"ok":false,"error":"ratelimited"\}$' "Slack: ratelimited body"
like "$(header Retry-After)" '^[1-9][0-9]*$' "Slack: Retry-After is whole seconds, at least 1"
slack chat.postMessage '{"channel":"backend-deploys","text":"other channel"}'
is "$STATUS" 200 "Slack: the rate limit is per channel"
req POST /_fake/config -H "$JSON" --data-binary '{"slack_rate":0}'

# --- Discord --------------------------------------------------------------------

CH=1180000000000000201
req GET /discord/api/v10/users/@me -H "$DISCORD_UA"
like "$STATUS $BODY" '^401 \{"message":"401: Unauthorized","code":0\}' "Discord: no token is 401"
req GET /discord/api/v10/users/@me -H 'Authorization: Bot wrong' -H "$DISCORD_UA"
is "$STATUS" 401 "Discord: a wrong token is 401"
req GET /discord/api/v10/users/@me -H 'Authorization: discord-test-token' -H "$DISCORD_UA"
is "$STATUS" 401 "Discord: a token without \"Bot \" is 401"
req GET /discord/api/v10/users/@me -H "$DISCORD_AUTH" -A 'curl/8'
like "$STATUS $BODY" '^403 .*"code":40333' "Discord: a User-Agent not like DiscordBot (url, version) is 403"
discord GET /users/@me
like "$STATUS $BODY" '^200 .*"id":"1180000000000000001","username":"herald".*"bot":true' "Discord: GET /users/@me"
like "$HEADERS" 'X-RateLimit-Limit: 1000' "Discord: X-RateLimit-Limit"
like "$HEADERS" 'X-RateLimit-Remaining: [0-9]+' "Discord: X-RateLimit-Remaining"
like "$HEADERS" 'X-RateLimit-Reset: [0-9]+\.[0-9]+' "Discord: X-RateLimit-Reset (epoch, fractional)"
like "$HEADERS" 'X-RateLimit-Reset-After: [0-9]+\.[0-9]+' "Discord: X-RateLimit-Reset-After"
like "$HEADERS" 'X-RateLimit-Bucket: [0-9a-f]{8,}' "Discord: X-RateLimit-Bucket"
discord GET /users/@me/guilds
like "$BODY" '^\[\{"id":"1180000000000000100","name":"Acme"' "Discord: GET /users/@me/guilds"
discord GET /guilds/1180000000000000100/channels
like "$BODY" "\"id\":\"$CH\",\"type\":0,\"guild_id\":\"1180000000000000100\",\"name\":\"deploys\"" \
	"Discord: GET /guilds/{id}/channels"
discord GET /guilds/1/channels
like "$STATUS $BODY" '^404 .*"code":10004' "Discord: unknown guild"
discord GET '/guilds/1180000000000000100/members/search?query=JAN&limit=10'
like "$BODY" '"username":"jane".*"username":"janet"' "Discord: member search is a case-insensitive prefix match"
discord GET '/guilds/1180000000000000100/members/search?query=johnny&limit=10'
like "$BODY" '"username":"john".*"nick":"Johnny"' "Discord: member search matches nicknames"
discord GET '/guilds/1180000000000000100/members/search?limit=10'
like "$STATUS $BODY" '^400 .*"code":50035.*"query"' "Discord: member search needs a query"

discord POST "/channels/$CH/messages" '{"content":"hello","allowed_mentions":{"parse":[]}}'
like "$STATUS $BODY" "^200 \\{\"id\":\"[0-9]{17,20}\",\"type\":0,\"channel_id\":\"$CH\"" \
	"Discord: create message gives a snowflake ID"
MID=$(json_field id "$BODY")
discord POST "/channels/$CH/messages" '{"content":"once","nonce":"deploy-42","enforce_nonce":true}'
N1=$(json_field id "$BODY")
discord POST "/channels/$CH/messages" '{"content":"once","nonce":"deploy-42","enforce_nonce":true}'
is "$STATUS $(json_field id "$BODY")" "200 $N1" "Discord: a repeated nonce with enforce_nonce returns the existing message"
discord POST "/channels/$CH/messages" '{"content":"twice","nonce":"deploy-43"}'
N2=$(json_field id "$BODY")
discord POST "/channels/$CH/messages" '{"content":"twice","nonce":"deploy-43"}'
ok "$([ -n "$N2" ] && [ "$N2" != "$(json_field id "$BODY")" ]; echo $?)" \
	"Discord: without enforce_nonce a repeated nonce makes a new message"
req GET "/_fake/messages?channel=$CH"
is "$(printf '%s' "$BODY" | grep -o '"nonce":"deploy-42"' | wc -l)" 1 "Discord: the deduplicated nonce is stored once"
discord POST "/channels/$CH/messages" "{\"content\":\"x\",\"nonce\":\"$(repeat n 26)\"}"
like "$STATUS $BODY" '^400 .*"code":50035.*"nonce":\{"_errors"' "Discord: nonce over 25 characters"
discord POST "/channels/$CH/messages" "{\"content\":\"$(repeat c 2001)\"}"
like "$STATUS $BODY" '^400 \{"message":"Invalid Form Body","code":50035,"errors":\{"content":\{"_errors":\[\{"code":"BASE_TYPE_MAX_LENGTH"' \
	"Discord: content over 2000 is 50035 with errors detail"
discord POST "/channels/$CH/messages" "{\"content\":\"$(repeat é 2000)\"}"
is "$STATUS" 200 "Discord: content of 2000 code points is accepted"
discord POST "/channels/$CH/messages" '{"content":"  "}'
like "$STATUS $BODY" '^400 .*"code":50006' "Discord: empty message is 50006"
EMBEDS=$(for i in $(seq 1 11); do printf '{"title":"t%s"},' "$i"; done)
discord POST "/channels/$CH/messages" "{\"embeds\":[${EMBEDS%,}]}"
like "$STATUS $BODY" '^400 .*"code":50035.*"embeds"' "Discord: more than 10 embeds"
discord POST "/channels/$CH/messages" "{\"embeds\":[{\"title\":\"$(repeat t 257)\"}]}"
like "$BODY" '"embeds":\{"0":\{"title"' "Discord: embed title over 256"
discord POST "/channels/$CH/messages" "{\"embeds\":[{\"description\":\"$(repeat d 4000)\"},{\"description\":\"$(repeat d 2001)\"}]}"
like "$STATUS $BODY" '^400 .*MAX_EMBED_SIZE_EXCEEDED' "Discord: embeds over 6000 characters in total"
discord POST "/channels/$CH/messages" '{"embeds":[{"title":"t","color":16777216,"fields":[{"name":"n","value":""}]}]}'
like "$BODY" '"color":\{"_errors".*"fields":\{"0":\{"value"' "Discord: bad color and empty field value"
discord POST "/channels/$CH/messages" '{"embeds":[{"title":"ok","color":16777215,"fields":[{"name":"n","value":"v","inline":true}],"footer":{"text":"f"},"author":{"name":"a"}}]}'
is "$STATUS" 200 "Discord: a valid embed is accepted"
req POST "/discord/api/v10/channels/$CH/messages" -H "$DISCORD_AUTH" -H "$DISCORD_UA" \
	-H 'Content-Type: text/plain' --data-binary '{"content":"x"}'
like "$STATUS $BODY" '^400 .*CONTENT_TYPE_INVALID' "Discord: a body that is not application/json"
discord POST "/channels/$CH/messages" '{"content":'
like "$STATUS $BODY" '^400 .*"code":50109' "Discord: invalid JSON is 50109"
discord POST /channels/1/messages '{"content":"x"}'
like "$STATUS $BODY" '^404 \{"message":"Unknown Channel","code":10003\}' "Discord: unknown channel is 404 10003"
discord POST /channels/1180000000000000206/messages '{"content":"x"}'
like "$STATUS $BODY" '^403 .*"code":50001' "Discord: channel without access is 403 50001"

discord PATCH "/channels/$CH/messages/$MID" '{"content":"hello, edited","allowed_mentions":{"parse":[]}}'
like "$STATUS $BODY" "^200 \\{\"id\":\"$MID\".*\"edited_timestamp\":\"20" "Discord: edit message sets edited_timestamp"
like "$BODY" '"content":"hello, edited"' "Discord: edit message changes the content"
discord PATCH "/channels/$CH/messages/1" '{"content":"x"}'
like "$STATUS $BODY" '^404 .*"code":10008' "Discord: editing an unknown message is 404 10008"
discord PUT "/channels/$CH/messages" '{"content":"x"}'
is "$STATUS" 405 "Discord: wrong method is 405"

discord POST /users/@me/channels '{"recipient_id":"1180000000000001001"}'
like "$STATUS $BODY" '^200 \{"id":"[0-9]+","type":1' "Discord: open a DM"
DDM=$(json_field id "$BODY")
discord POST /users/@me/channels '{"recipient_id":"1180000000000001001"}'
is "$(json_field id "$BODY")" "$DDM" "Discord: the same DM channel for the same user"
discord POST "/channels/$DDM/messages" '{"content":"direct"}'
is "$STATUS" 200 "Discord: post into the DM"
discord POST /users/@me/channels '{"recipient_id":"1180000000000001003"}'
PAT=$(json_field id "$BODY")
discord POST "/channels/$PAT/messages" '{"content":"x"}'
like "$STATUS $BODY" '^403 .*"code":50007' "Discord: a user who cannot be DMed is 403 50007"
discord POST /users/@me/channels '{"recipient_id":"42"}'
like "$STATUS $BODY" '^404 .*"code":10013' "Discord: DM with an unknown user"

req POST /_fake/config -H "$JSON" --data-binary '{"discord_bucket_limit":2,"discord_bucket_window":600}'
CH2=1180000000000000204
discord POST "/channels/$CH2/messages" '{"content":"1"}'
like "$HEADERS" 'X-RateLimit-Remaining: 1' "Discord: Remaining counts down"
discord POST "/channels/$CH2/messages" '{"content":"2"}'
like "$HEADERS" 'X-RateLimit-Remaining: 0' "Discord: the bucket is used up"
discord POST "/channels/$CH2/messages" '{"content":"3"}'
is "$STATUS" 429 "Discord: over the bucket is 429"
like "$BODY" '^\{"message":"You are being rate limited.","retry_after":[0-9.]+,"global":false\}$' \
	"Discord: rate-limit body"
like "$(header Retry-After)" '^[1-9][0-9]*$' "Discord: Retry-After header"
is "$(header X-RateLimit-Scope)" user "Discord: X-RateLimit-Scope: user"
discord POST "/channels/$CH/messages" '{"content":"other channel"}'
is "$STATUS" 200 "Discord: message buckets are per channel"
req POST /_fake/config -H "$JSON" --data-binary '{"discord_bucket_limit":1000,"discord_bucket_window":60}'

# --- faults ---------------------------------------------------------------------

req POST /_fake/fault -H "$JSON" --data-binary '{"count":2,"platform":"slack","path":"auth.test","status":503}'
like "$BODY" '"ok":true' "control: queue a fault"
req POST /slack/api/auth.test -H "$SLACK_AUTH"
S1=$STATUS
discord GET /users/@me
S2=$STATUS
req POST /slack/api/auth.test -H "$SLACK_AUTH"
S3=$STATUS
req POST /slack/api/auth.test -H "$SLACK_AUTH"
is "$S1 $S2 $S3 $STATUS" "503 200 503 200" "fault: count, platform and path decide which requests fail"
req POST /_fake/fault -H "$JSON" --data-binary '[{"platform":"slack","status":500},{"platform":"slack","status":502}]'
slack chat.postMessage '{"channel":"deploys","text":"x"}'
S1=$STATUS
slack chat.postMessage '{"channel":"deploys","text":"x"}'
is "$S1 $STATUS" "500 502" "fault: queued faults apply in order"
req POST /_fake/fault -H "$JSON" --data-binary '{"platform":"slack","error":"internal_error"}'
slack chat.postMessage '{"channel":"deploys","text":"x"}'
is "$STATUS $BODY" '200 {"ok":false,"error":"internal_error"}' "fault: a Slack error code"
req POST /_fake/fault -H "$JSON" --data-binary '{"platform":"discord","status":429,"retry_after":2.5}'
discord POST "/channels/$CH/messages" '{"content":"x"}'
like "$STATUS $BODY" '^429 .*"retry_after":2.5' "fault: a Discord 429 with retry_after"
is "$(header Retry-After)" 3 "fault: its Retry-After header is rounded up"
req POST /_fake/fault -H "$JSON" --data-binary '{"platform":"discord","drop":true}'
discord GET /users/@me
ok "$([ "$RC" -ne 0 ] && [ "$STATUS" = 000 ]; echo $?)" "fault: drop closes the connection without an answer (curl $RC)"
discord GET /users/@me
is "$STATUS" 200 "fault: the next request is answered again"
req POST /_fake/fault -H "$JSON" --data-binary '{"delay_ms":300}'
TIME=$(curl -sS -m 10 -o /dev/null -w '%{time_total}' -H "$SLACK_AUTH" "$URL/slack/api/auth.test")
ok "$(awk -v t="$TIME" 'BEGIN { exit !(t >= 0.3) }'; echo $?)" "fault: delay_ms delays the answer (${TIME}s)"
req POST /_fake/fault -H "$JSON" --data-binary '{"stauts":500}'
like "$STATUS $BODY" '^400 .*unknown fault key' "control: a misspelt fault is refused"
req GET /_fake/fault
is "$BODY" '[]' "control: no fault left pending"

# --- record, limits, reset ------------------------------------------------------

req GET /_fake/requests
like "$BODY" '"path":"/slack/api/chat.postMessage"' "control: /_fake/requests lists requests"
like "$BODY" '"headers":\{"authorization":"Bearer xoxb-test-token","content-type":"application/json; charset=utf-8"' \
	"control: requests keep the headers"
like "$BODY" '"body":\{"channel":"#deploys","text":"by name"\},"status":200,"response":\{"ok":true' \
	"control: requests keep the parsed body, status and response"
RECORDED=$(printf '%s' "$BODY" | grep -o '"seq":' | wc -l)
is "$(wc -l <"$T/record.jsonl" | tr -d ' ')" "$RECORDED" "--record has one line per request"
like "$(tail -n 1 "$T/record.jsonl")" '^\{"seq":[0-9]+,.*"path":"/slack/api/auth.test"' "--record lines are JSON"
head -c 1100000 /dev/zero | tr '\0' a >"$T/big"
req POST /slack/api/chat.postMessage -H "$SLACK_AUTH" -H "$JSON" --data-binary "@$T/big"
is "$STATUS" 413 "a body over 1 MiB is refused"
req POST /_fake/reset
like "$BODY" '"ok":true' "control: reset"
req GET /_fake/messages
is "$BODY" '{"slack":[],"discord":[]}' "control: reset forgets the messages"
req GET /_fake/requests
is "$BODY" '[]' "control: reset forgets the requests"

stop_fake
is "$STOP_RC" 0 "exits 0 on SIGTERM"

# --- state file and options -----------------------------------------------------

cat >"$T/state.json" <<'EOF'
{"slack": {"token": "xoxb-other", "channels": [{"id": "C0000000099", "name": "ops"}]},
 "discord": {"token": "other-discord"}}
EOF
if start_fake "$T/port2" --state "$T/state.json" --quiet; then
	ok 0 "starts with --state"
	req POST /slack/api/chat.postMessage -H 'Authorization: Bearer xoxb-other' -H "$JSON" \
		--data-binary '{"channel":"ops","text":"x"}'
	like "$BODY" '"ok":true,"channel":"C0000000099"' "--state replaces the channels and token"
	req POST /slack/api/chat.postMessage -H 'Authorization: Bearer xoxb-other' -H "$JSON" \
		--data-binary '{"channel":"deploys","text":"x"}'
	like "$BODY" '"error":"channel_not_found"' "--state: default channels are gone"
	req GET '/slack/api/users.lookupByEmail?email=jane@example.com' -H 'Authorization: Bearer xoxb-other'
	like "$BODY" '"ok":true' "--state keeps the default users"
	stop_fake
	is "$STOP_RC" 0 "exits 0 on SIGTERM again"
else
	ok 1 "starts with --state: $(cat "$T/stderr")"
fi
echo '{"slack": {"channels": [{"name": "no-id"}]}}' >"$T/bad.json"
OUT=$("$FAKE" --state "$T/bad.json" --print-state 2>&1)
ok "$([ $? -ne 0 ]; echo $?)" "a bad --state file is refused"
like "$OUT" 'slack.channels\[0\]: "id" is missing' "  and the message says where"
OUT=$("$FAKE" --listen 0.0.0.0:0 2>&1)
like "$OUT" 'only listens on loopback' "--listen refuses non-loopback addresses"
"$FAKE" --print-state >"$T/defaults.json" 2>&1
like "$(cat "$T/defaults.json")" '"token": "xoxb-test-token"' "--print-state prints the defaults"

done_testing
