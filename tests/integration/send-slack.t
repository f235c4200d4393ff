#!/usr/bin/env bash
# `herald send` against the fake Slack: every example lands, --json output,
# direct messages by user ID, email and name (unknown and ambiguous people
# too), the channel errors with their hints, retries after 429, 5xx and a
# dropped connection, giving up after --timeout, a rejected token, usage and
# configuration errors, and events built from flags. Needs bash, curl, perl.

. "$(dirname "$0")/lib.sh"


start_fake --slack-rate 0 --quiet
use_slack
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
	is "$(slack_count)" "$nr" "examples/$name: $nr message(s) stored by the fake"
done

# --- --json output -----------------------------------------------------------
fake_reset
run send --json --type deploy --status succeeded --app api --env production \
	--sha 0123456789abcdef --repository acme/api
is "$RC" 0 "flags-built event with --json: exit 0"
line=$(printf '%s\n' "$OUT" | head -n 1)
is "$(printf '%s' "$line" | pj '$d->{destination}')" "#deploys" "--json: destination"
is "$(printf '%s' "$line" | pj '$d->{channel_id}')" "C0000000001" "--json: channel_id"
like "$(printf '%s' "$line" | pj '$d->{ts}')" '^[0-9]+\.[0-9]{6}$' "--json: ts"
is "$(printf '%s' "$line" | pj '$d->{attempts}')" 1 "--json: attempts"
is "$(printf '%s' "$line" | pj 'defined $d->{error} ? "set" : "null"')" null "--json: error is null"
is "$(messages | pj '$d->{slack}[0]{ts}')" "$(printf '%s' "$line" | pj '$d->{ts}')" \
	"--json: ts is the stored message's"
like "$(messages | pj '$d->{slack}[0]{text}')" 'api' "the flags-built event is the message"
is "$(requests chat.postMessage | pj '$d->[0]{headers}{"content-type"}')" \
	"application/json; charset=utf-8" "posted as JSON with charset"

# --- direct messages ---------------------------------------------------------
fake_reset
run send --channel @U0000000001 --type message --title "to jane by ID"
is "$RC" 0 "DM by user ID: exit 0"
like "$OUT" '^delivered to @U0000000001 \(channel D0000000001, ts [0-9.]+\)$' \
	"DM by user ID: delivered into the D… channel"
is "$(slack_count D0000000001)" 1 "DM by user ID: stored in D0000000001"

run send --channel @john@example.com --type message --title "to john by email"
is "$RC" 0 "DM by email: exit 0"
like "$OUT" 'channel D0000000002' "DM by email: john's DM channel"
like "$(requests users.lookupByEmail | pj '$d->[0]{query}{email}')" '^john@example.com$' \
	"DM by email: users.lookupByEmail with the address"

run send --channel @Johnny --type message --title "to john by display name"
is "$RC" 0 "DM by display name, any case: exit 0"
like "$OUT" 'channel D0000000002' "DM by display name: john's DM channel"

run send --channel @zoe --type message --title "to zoe on the last page"
is "$RC" 0 "DM by name on the last users.list page: exit 0"
like "$OUT" 'channel D0000000006' "DM by name: zoe's DM channel"
is "$(requests users.list | pj 'scalar grep { $_->{query}{limit} eq "200" } @$d')" \
	"$(requests users.list | pj 'scalar @$d')" "users.list asks for 200 a page"
like "$(requests users.list | pj 'scalar grep { $_->{query}{cursor} } @$d')" '^[1-9]' \
	"users.list follows next_cursor"

run send --channel @nobody --type message --title "to nobody"
is "$RC" 1 "unknown person: exit 1"
like "$ERR" 'no user named "nobody"' "unknown person: names the person"
like "$ERR" 'name, display name and real name' "unknown person: says what was searched"

run send --channel @nobody@example.com --type message --title "to nobody"
is "$RC" 1 "unknown email: exit 1"
like "$ERR" 'users_not_found for "@nobody@example.com"' "unknown email: the platform's error"

run send --channel @former --type message --title "to a former employee"
is "$RC" 1 "deleted user by name: exit 1"
like "$ERR" 'no user named "former"' "deleted users are not matched"

# --- channel errors ----------------------------------------------------------
run send --channel '#nope' --type message --title "x"
is "$RC" 1 "channel_not_found: exit 1"
like "$ERR" 'channel_not_found for "#nope"' "channel_not_found: the platform's code and the channel"
like "$ERR" 'invite the app' "channel_not_found: the hint"

run send --channel '#secret-ops' --type message --title "x"
is "$RC" 1 "not_in_channel: exit 1"
like "$ERR" 'not_in_channel.*/invite @yourbot' "not_in_channel: the /invite hint"

run send --json --channel '#archived' --type message --title "x"
is "$RC" 1 "is_archived: exit 1"
like "$ERR" 'is_archived.*unarchive' "is_archived: the hint"
is "$(printf '%s' "$OUT" | pj '$d->{error}{code}')" "is_archived" "--json: error.code"
is "$(printf '%s' "$OUT" | pj '$d->{channel_id}')" "null" "--json: no channel_id on failure"

# --- retries -----------------------------------------------------------------
fake_reset
fake_fault '{"platform":"slack","path":"chat.postMessage","status":429,"retry_after":1}'
run send --json --type message --title "after a 429"
is "$RC" 0 "429 then success: exit 0"
is "$(printf '%s' "$OUT" | pj '$d->{attempts}')" 2 "429 then success: 2 attempts"
is "$(slack_count)" 1 "429 then success: one message"

fake_reset
fake_fault '[{"platform":"slack","path":"chat.postMessage","status":500},
	{"platform":"slack","path":"chat.postMessage","status":502},
	{"platform":"slack","path":"chat.postMessage","status":503}]'
run send --json --type message --title "after 500, 502, 503"
is "$RC" 0 "500, 502, 503 then success: exit 0"
is "$(printf '%s' "$OUT" | pj '$d->{attempts}')" 4 "500, 502, 503 then success: 4 attempts"
is "$(slack_count)" 1 "500, 502, 503 then success: one message"

fake_reset
fake_fault '{"platform":"slack","path":"chat.postMessage","drop":true}'
run send --json --type message --title "after a dropped connection"
is "$RC" 0 "dropped connection then success: exit 0"
is "$(printf '%s' "$OUT" | pj '$d->{attempts}')" 2 "dropped connection then success: 2 attempts"

fake_reset
fake_fault '{"platform":"slack","path":"chat.postMessage","drop":true,"delay_ms":5000,"count":50}'
HERALD_REQUEST_TIMEOUT=1 run send --timeout 3 --type message --title "never answered"
is "$RC" 3 "no answer within --timeout: exit 3"
like "$ERR" 'gave up on #deploys after [0-9]+ attempts?' "timeout: says it gave up"
like "$ERR" 'timeout' "timeout: the last error was a timeout"
fake_reset

fake_fault '{"platform":"slack","path":"chat.postMessage","status":429,"retry_after":600}'
run send --timeout 5 --type message --title "rate limited for long"
is "$RC" 3 "Retry-After beyond --timeout: exit 3 at once"
like "$ERR" 'ratelimited' "Retry-After beyond --timeout: the error"
fake_reset

# --- credentials -------------------------------------------------------------
NOTIFICATIONS_TOKEN=xoxb-wrong-token run send --type message --title "x"
is "$RC" 1 "invalid_auth: exit 1"
like "$ERR" 'invalid_auth' "invalid_auth: the platform's error"
like "$ERR" 'NOTIFICATIONS_TOKEN' "invalid_auth: what to fix"

# --- several events, one of them unroutable ---------------------------------
cat >"$T/two.json" <<'EOF'
[{"type": "message", "title": "one"},
 {"type": "message", "title": "two", "channel": "#staging-deploys"}]
EOF
fake_reset
run send "$T/two.json"
is "$RC" 0 "two events from a file: exit 0"
is "$(printf '%s\n' "$OUT" | grep -c '^delivered to ')" 2 "two events: two lines"
like "$OUT" 'delivered to #staging-deploys \(channel C0000000002' "the event's channel wins"

NOTIFICATIONS_DEFAULT_CHANNEL= run send "$T/two.json"
is "$RC" 1 "an unrouted event: exit 1"
like "$ERR" 'not sent: unrouted' "an unrouted event: says so"
like "$OUT" 'delivered to #staging-deploys' "the routed event is still sent"

fake_reset
"$HERALD" send - <"$T/two.json" >"$T/out" 2>"$T/err"
is "$?" 0 "events from standard input: exit 0"
is "$(slack_count)" 2 "events from standard input: both sent"

# --- usage and configuration errors ------------------------------------------
run send --bogus
is "$RC" 2 "unknown option: exit 2"
run send --type message --title x "$T/two.json"
is "$RC" 2 "flags and a FILE: exit 2"
like "$ERR" 'not both' "flags and a FILE: says why"
run send --timeout soon --type message --title x
is "$RC" 2 "bad --timeout: exit 2"
run send --type deploy --status done --app api --env production
is "$RC" 2 "invalid flag value: exit 2"
like "$ERR" '^herald send: --status' "invalid flag value: names the flag"
run send --type message --title x --title y
is "$RC" 2 "a flag given twice: exit 2"
NOTIFICATIONS_PROVIDER=pigeon run send --type message --title x
is "$RC" 2 "bad NOTIFICATIONS_PROVIDER: exit 2"
HERALD_SLACK_API_URL=http://slack.example.com/api run send --type message --title x
is "$RC" 2 "plain http to a non-loopback host: exit 2"
like "$ERR" 'HERALD_SLACK_API_URL' "plain http: names the variable"
run send "$T/does-not-exist.json"
is "$RC" 2 "unreadable FILE: exit 2"

# --- the log provider --------------------------------------------------------
fake_reset
NOTIFICATIONS_PROVIDER= run send --type message --title "only printed"
is "$RC" 0 "log provider: exit 0"
like "$ERR" 'warning: NOTIFICATIONS_PROVIDER is not set' "log provider: warns"
is "$(printf '%s' "$OUT" | pj '$d->{destination}')" "#deploys" "log provider: prints the destination"
like "$(printf '%s' "$OUT" | pj 'exists $d->{payload} ? "yes" : "no"')" yes "log provider: prints the body"
is "$(slack_count)" 0 "log provider: nothing sent"

# --- an ambiguous name (a directory where two people are "alex") ------------
cat >"$T/state.json" <<'EOF'
{"slack": {"users": [
  {"id": "U0000000011", "name": "alex.a", "real_name": "Alex A", "display_name": "alex",
   "email": "alex.a@example.com"},
  {"id": "U0000000012", "name": "alex.b", "real_name": "Alex B", "display_name": "Alex",
   "email": "alex.b@example.com"}]}}
EOF
start_fake --slack-rate 0 --quiet --state "$T/state.json"
use_slack
run send --channel @alex --type message --title "to which alex?"
is "$RC" 1 "ambiguous person: exit 1"
like "$ERR" 'ambiguous.*U0000000011.*U0000000012' "ambiguous person: lists the matching user IDs"
run send --channel @alex.b --type message --title "to alex b"
is "$RC" 0 "the user name picks one: exit 0"
like "$OUT" 'channel D0000000012' "the user name picks one: alex.b's DM"

done_testing
