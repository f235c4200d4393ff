#!/usr/bin/env bash
# `herald send` against the fake Discord: every example lands as one message
# with one embed and no mentions, the headers Discord requires, channels by
# name (resolved in the guild) and by ID, direct messages by user name and
# ID, unknown people, closed DMs, unknown and inaccessible channels with
# their hints, the guild question when the bot is in two servers, retries
# after 429 and 5xx, nonces that keep a retried post from appearing twice,
# a rejected token, and `herald check`'s view of the bot. Needs bash, curl,
# perl.

. "$(dirname "$0")/lib.sh"

GUILD=1180000000000000100
DEPLOYS=1180000000000000201
STAGING=1180000000000000202
PRODUCTION=1180000000000000203
JANE=1180000000000001001
JOHN=1180000000000001002

# Creates of messages (POST .../messages), answered or not.
posts() { requests /messages | pj 'JSON::PP->new->encode([grep { $_->{method} eq "POST" } @$d])'; }

# A bucket that cannot run dry during the test: 429s come from faults only.
start_fake --quiet --discord-bucket-limit 10000 --discord-bucket-window 600
use_discord
export NOTIFICATIONS_DISCORD_GUILD=$GUILD
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'

# --- every example lands in the fake -----------------------------------------
examples=$(ls "$HERALD_SRC"/examples/*.json 2>/dev/null)
if [ -z "$examples" ]; then
	ok 0 "# SKIP no examples/*.json yet"
fi
for f in $examples; do
	name=$(basename "$f")
	fake_reset
	nr=$("$HERALD" route --json "$f" 2>/dev/null </dev/null | grep -c '^{')
	run send "$f"
	is "$RC" 0 "examples/$name: sent, exit 0"
	is "$(printf '%s\n' "$OUT" | grep -c '^delivered to ')" "$nr" \
		"examples/$name: one \"delivered to\" line per event ($nr)"
	m=$(messages)
	is "$(printf '%s' "$m" | pj 'scalar @{$d->{discord}}')" "$nr" \
		"examples/$name: $nr message(s) stored by the fake"
	is "$(printf '%s' "$m" | pj 'scalar grep { @{$_->{embeds}} == 1 } @{$d->{discord}}')" \
		"$nr" "examples/$name: each message has exactly one embed"
	is "$(printf '%s' "$m" | pj 'scalar grep { ref $_->{allowed_mentions}{parse} eq "ARRAY"
		&& !@{$_->{allowed_mentions}{parse}} } @{$d->{discord}}')" "$nr" \
		"examples/$name: each with allowed_mentions {\"parse\": []}"
	p=$(posts)
	is "$(printf '%s' "$p" | pj 'scalar grep { $_->{body}{enforce_nonce}
		&& length($_->{body}{nonce}) > 0 && length($_->{body}{nonce}) <= 25 } @$d')" \
		"$nr" "examples/$name: each post has a nonce (<= 25) and enforce_nonce"
done

# --- requests: headers and body ----------------------------------------------
fake_reset
run send --json --type deploy --status succeeded --app api --env production \
	--sha 0123456789abcdef --repository acme/api
is "$RC" 0 "flags-built event to #deploys: exit 0"
is "$(printf '%s' "$OUT" | pj '$d->{destination}')" "#deploys" "--json: destination"
is "$(printf '%s' "$OUT" | pj '$d->{channel_id}')" "$DEPLOYS" "--json: channel_id"
like "$(printf '%s' "$OUT" | pj '$d->{message_id}')" '^[0-9]{17,20}$' "--json: message_id"
is "$(printf '%s' "$OUT" | pj '$d->{attempts}')" 1 "--json: one attempt"
is "$(messages | pj '$d->{discord}[0]{id}')" "$(printf '%s' "$OUT" | pj '$d->{message_id}')" \
	"--json: message_id is the stored message's"
post=$(posts | pj 'JSON::PP->new->canonical->encode($d->[0])')
is "$(printf '%s' "$post" | pj '$d->{path}')" "/discord/api/v10/channels/$DEPLOYS/messages" \
	"posted to /channels/{id}/messages"
is "$(printf '%s' "$post" | pj '$d->{headers}{authorization}')" "Bot discord-test-token" \
	"Authorization: Bot <token>"
like "$(printf '%s' "$post" | pj '$d->{headers}{"user-agent"}')" '^DiscordBot \(https?://[^,]+, [0-9][^)]*\)$' \
	"User-Agent: DiscordBot (url, version)"
like "$(printf '%s' "$post" | pj '$d->{headers}{"content-type"}')" '^application/json' \
	"Content-Type: application/json"
is "$(printf '%s' "$post" | pj 'JSON::PP->new->canonical->encode($d->{body}{allowed_mentions})')" \
	'{"parse":[]}' "body: allowed_mentions {\"parse\": []}"
is "$(printf '%s' "$post" | pj '$d->{body}{enforce_nonce} ? "true" : "false"')" true \
	"body: enforce_nonce true"
is "$(requests | pj 'scalar grep { ($_->{path} . JSON::PP->new->encode($_->{query}))
	=~ /discord-test-token/ } @$d')" 0 "the token is never in a path or query"

# --- channels by name and by ID ----------------------------------------------
fake_reset
run send --channel '#staging-deploys' --type message --title "by name"
is "$RC" 0 "channel by name: exit 0"
like "$OUT" "^delivered to #staging-deploys \\(channel $STAGING, message [0-9]+\\)$" \
	"channel by name: resolved in the guild"
is "$(requests "/guilds/$GUILD/channels" | pj 'scalar @$d')" 1 \
	"channel by name: one GET /guilds/{guild}/channels"
is "$(discord_count $STAGING)" 1 "channel by name: stored in #staging-deploys"

run send --channel '#Production-Deploys' --type message --title "any case"
is "$RC" 0 "channel name in another case: exit 0"
like "$OUT" "channel $PRODUCTION" "channel name in another case: the same channel"

fake_reset
run send --channel "$PRODUCTION" --type message --title "by ID"
is "$RC" 0 "channel by ID: exit 0"
like "$OUT" "^delivered to $PRODUCTION \\(channel $PRODUCTION, message [0-9]+\\)$" \
	"channel by ID: posted there"
is "$(requests | pj 'scalar grep { $_->{path} !~ m{/channels/[0-9]+/messages$} } @$d')" 0 \
	"channel by ID: no lookup requests, only the post"

# Without NOTIFICATIONS_DISCORD_GUILD: the only guild the bot is in.
fake_reset
NOTIFICATIONS_DISCORD_GUILD= run send --channel '#deploys' --type message --title "one guild"
is "$RC" 0 "no guild set, bot in one guild: exit 0"
like "$OUT" "channel $DEPLOYS" "no guild set, bot in one guild: resolved there"
is "$(requests /users/@me/guilds | pj 'scalar @$d')" 1 "no guild set: GET /users/@me/guilds once"

# --- direct messages ---------------------------------------------------------
fake_reset
run send --channel @jane --type message --title "to jane by name"
is "$RC" 0 "DM by name: exit 0"
like "$OUT" '^delivered to @jane \(channel [0-9]+, message [0-9]+\)$' "DM by name: delivered"
search=$(requests /members/search | pj 'JSON::PP->new->canonical->encode($d->[0]{query})')
is "$(printf '%s' "$search" | pj '$d->{query}')" jane "DM by name: member search for the name"
like "$(printf '%s' "$search" | pj '$d->{limit}')" '^[0-9]+$' "DM by name: member search with a limit"
is "$(requests /users/@me/channels | pj '$d->[0]{body}{recipient_id}')" "$JANE" \
	"DM by name: the DM channel opened with jane's user ID"
dm=$(requests /users/@me/channels | pj '$d->[0]{response}{id}')
is "$(discord_count "$dm")" 1 "DM by name: stored in jane's DM channel"

fake_reset
run send --channel "@$JOHN" --type message --title "to john by ID"
is "$RC" 0 "DM by user ID: exit 0"
is "$(requests /members/search | pj 'scalar @$d')" 0 "DM by user ID: no member search"
is "$(requests /users/@me/channels | pj '$d->[0]{body}{recipient_id}')" "$JOHN" \
	"DM by user ID: the DM channel opened with that ID"
like "$OUT" "^delivered to @$JOHN \\(channel [0-9]+" "DM by user ID: delivered"

run send --channel @johnny --type message --title "to john by nickname"
is "$RC" 0 "DM by server nickname, any case: exit 0"
is "$(requests /users/@me/channels | pj '$d->[-1]{body}{recipient_id}')" "$JOHN" \
	"DM by server nickname: john"

# "jan" is a prefix of jane and janet, but nobody's name.
run send --channel @jan --type message --title "to jan"
is "$RC" 1 "a name that is only a prefix: exit 1"
like "$ERR" 'no member named "jan"' "a prefix is not a match"

run send --channel @nobody --type message --title "to nobody"
is "$RC" 1 "unknown person: exit 1"
like "$ERR" 'no member named "nobody"' "unknown person: names the person"
like "$ERR" "server $GUILD" "unknown person: names the guild searched"

fake_fault '{"platform":"discord","path":"/members/search","status":403,"code":50001,"message":"Missing Access"}'
run send --channel @john --type message --title "search refused"
is "$RC" 1 "member search refused (50001): exit 1"
like "$ERR" 'Server Members Intent' "member search refused: names the intent"

run send --channel @private-pat --type message --title "to pat"
is "$RC" 1 "a user who does not take DMs (50007): exit 1"
like "$ERR" '50007' "50007: Discord's code"
like "$ERR" 'DMs closed or shares no server' "50007: the hint"

# --- channel errors ----------------------------------------------------------
run send --json --channel 1180000000000000999 --type message --title "x"
is "$RC" 1 "unknown channel ID (10003): exit 1"
like "$ERR" '10003 Unknown Channel for "1180000000000000999"' "10003: Discord's code and message"
like "$ERR" 'does not exist or the bot cannot see it' "10003: the hint"
is "$(printf '%s' "$OUT" | pj '$d->{error}{code}')" 10003 "--json: error.code is Discord's code"

run send --channel '#secret-ops' --type message --title "x"
is "$RC" 1 "no access (50001): exit 1"
like "$ERR" 'View Channel and Send Messages in #secret-ops' "50001: the permissions to give"

NOTIFICATIONS_DISCORD_GUILD=1180000000000000999 run send --channel '#deploys' \
	--type message --title "x"
is "$RC" 1 "a guild the bot is not in: exit 1"
like "$ERR" '10004.*NOTIFICATIONS_DISCORD_GUILD' "a guild the bot is not in: what to fix"

run send --channel '#nope' --type message --title "x"
is "$RC" 1 "unknown channel name: exit 1"
like "$ERR" 'no text channel named "nope"' "unknown channel name: says so"

run send --channel '#Deployments' --type message --title "x"
is "$RC" 1 "a category: exit 1"
like "$ERR" 'category' "a category: says what it is"

# --- a bot in two guilds -----------------------------------------------------
cat >"$T/state.json" <<'EOF'
{"discord": {"guilds": [
  {"id": "1180000000000000100", "name": "Acme",
   "channels": [{"id": "1180000000000000201", "name": "deploys"}],
   "members": [{"user": {"id": "1180000000000001001", "username": "jane"}}]},
  {"id": "1180000000000000300", "name": "Other",
   "channels": [{"id": "1180000000000000301", "name": "deploys"}],
   "members": []}]}}
EOF
start_fake --quiet --discord-bucket-limit 10000 --discord-bucket-window 600 --state "$T/state.json"
use_discord
NOTIFICATIONS_DISCORD_GUILD= run send --channel '#deploys' --type message --title "which?"
is "$RC" 1 "two guilds, no NOTIFICATIONS_DISCORD_GUILD: exit 1"
like "$ERR" 'set NOTIFICATIONS_DISCORD_GUILD' "two guilds: says what to set"
like "$ERR" 'Acme \(1180000000000000100\).*Other \(1180000000000000300\)' \
	"two guilds: lists the guilds found"
is "$(discord_count)" 0 "two guilds: nothing posted"
NOTIFICATIONS_DISCORD_GUILD=1180000000000000300 run send --channel '#deploys' \
	--type message --title "in Other"
is "$RC" 0 "two guilds, NOTIFICATIONS_DISCORD_GUILD set: exit 0"
like "$OUT" 'channel 1180000000000000301' "two guilds: the channel of the guild set"
NOTIFICATIONS_DISCORD_GUILD= run send --channel 1180000000000000201 --type message --title "by ID"
is "$RC" 0 "two guilds: channel IDs need no guild"
NOTIFICATIONS_DISCORD_GUILD=1180000000000000300 run send --channel @jane --type message --title x
is "$RC" 1 "a person searched in the wrong guild: exit 1"
like "$ERR" 'server 1180000000000000300' "the error names the guild searched"

start_fake --quiet --discord-bucket-limit 10000 --discord-bucket-window 600
use_discord
export NOTIFICATIONS_DISCORD_GUILD=$GUILD

# --- retries -----------------------------------------------------------------
fake_reset
fake_fault '{"platform":"discord","path":"/messages","status":429,"retry_after":1}'
run send --json --type message --title "after a 429"
is "$RC" 0 "429 then success: exit 0"
is "$(printf '%s' "$OUT" | pj '$d->{attempts}')" 2 "429 then success: 2 attempts"
is "$(discord_count)" 1 "429 then success: one message"

fake_reset
fake_fault '[{"platform":"discord","path":"/messages","status":500},
	{"platform":"discord","path":"/messages","status":502}]'
run send --json --type message --title "after 500, 502"
is "$RC" 0 "500, 502 then success: exit 0"
is "$(printf '%s' "$OUT" | pj '$d->{attempts}')" 3 "500, 502 then success: 3 attempts"
is "$(discord_count)" 1 "500, 502 then success: one message"

fake_reset
fake_fault '{"platform":"discord","path":"/messages","status":429,"retry_after":600}'
run send --timeout 5 --type message --title "rate limited for long"
is "$RC" 3 "retry_after beyond --timeout: exit 3 at once"
like "$ERR" 'rate-limiting' "retry_after beyond --timeout: the error"

# --- nonces: a retried post never appears twice ------------------------------
fake_reset
fake_fault '{"platform":"discord","path":"/messages","drop":true}'
run send --json --type message --title "after a dropped connection"
is "$RC" 0 "dropped connection then success: exit 0"
# (curl itself may make the second try when the dropped connection was a
# reused one; either way the post went out twice.)
is "$(posts | pj 'scalar @$d')" 2 "dropped connection: posted twice"
is "$(discord_count)" 1 "dropped connection: one message"
is "$(posts | pj 'my %n = map { $_->{body}{nonce} => 1 } @$d; scalar keys %n')" 1 \
	"dropped connection: the retry carried the same nonce"

# The first post is answered only after herald gave up on it, so Discord
# (the fake) creates it after all; whichever of the two comes second gets
# the existing message back.
fake_reset
fake_fault '{"platform":"discord","path":"/messages","delay_ms":2500}'
HERALD_REQUEST_TIMEOUT=1 run send --json --timeout 60 --type message --title "slow answer"
is "$RC" 0 "first post timed out, retried: exit 0"
tries=$(printf '%s' "$OUT" | pj '$d->{attempts}')
like "$tries" '^[2-9]$' "first post timed out: retried"
for _ in $(seq 1 300); do	# until the slow request has been answered too
	[ "$(posts | pj 'scalar @$d')" -ge "$tries" ] && break
	sleep 0.1
done
is "$(posts | pj 'scalar grep { $_->{status} == 200 } @$d')" "$tries" \
	"both posts were answered by the fake"
is "$(discord_count)" 1 "the post Discord created late did not appear twice"

# The same event (same "id") sent twice: one message.
cat >"$T/same.json" <<'EOF'
{"id": "deploy-42", "type": "message", "title": "sent twice"}
EOF
fake_reset
run send --json "$T/same.json"
first=$(printf '%s' "$OUT" | pj '$d->{message_id}')
run send --json "$T/same.json"
is "$RC" 0 "the same event again: exit 0"
is "$(printf '%s' "$OUT" | pj '$d->{message_id}')" "$first" "the same event again: the same message"
is "$(discord_count)" 1 "the same event again: one message"

# --- credentials -------------------------------------------------------------
fake_reset
NOTIFICATIONS_TOKEN=wrong-token run send --json --type message --title "x"
is "$RC" 1 "401: exit 1"
like "$(printf '%s' "$OUT" | pj '$d->{error}{message}')" 'Discord rejected the bot token' \
	"401: says the token was rejected"
like "$ERR" 'NOTIFICATIONS_TOKEN' "401: what to fix"
like "$ERR" '10,000 invalid requests' "401: warns about Discord's ban"
unlike "$ERR$OUT" 'wrong-token' "401: the token is not printed"
is "$(requests | pj 'scalar @$d')" 1 "401: not retried"
NOTIFICATIONS_TOKEN='Bot discord-test-token' run send --type message --title "x"
is "$RC" 2 "a token with the \"Bot \" prefix: exit 2"
like "$ERR" 'NOTIFICATIONS_TOKEN' "a token with the \"Bot \" prefix: says what to fix"

# --- herald check ------------------------------------------------------------
fake_reset
NOTIFICATIONS_DEFAULT_CHANNEL='#deploys' NOTIFICATIONS_CHANNEL_MAPPING='staging=@jane' run check
is "$RC" 0 "check: exit 0"
like "$OUT" "token: ok \\(bot herald#0 \\(id 1180000000000000001\\) in Acme \\($GUILD\\)\\)" \
	"check: who the bot is and its guild"
like "$OUT" "#deploys .*channel $DEPLOYS" "check: #deploys resolved to its ID"
like "$OUT" "@jane .*ok" "check: @jane resolved"
is "$(discord_count)" 0 "check: nothing posted"
NOTIFICATIONS_DISCORD_GUILD=1180000000000000999 run check
like "$OUT" 'token: ok .*NOTIFICATIONS_DISCORD_GUILD 1180000000000000999 is not one of them' \
	"check: a guild the bot is not in is pointed out"

done_testing
