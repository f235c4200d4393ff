#!/usr/bin/env bash
# Issue #11, for the operator: one configuration, checked the same way
# everywhere. herald config reports offline what check or the first event
# would hit (mapping items that swallowed a comma, Owner IMs that are not
# destinations, plain http:// off loopback, a "#chan" YAML read as a
# comment, near-miss keys and variables); serve refuses errors and prints
# warnings; check says "not verified" and spots a token of the other
# platform; messages read as sentences (port in use, a directory or a
# non-database as the database, unrouted); route takes several files and,
# like send, prints serve's body with the log provider; serve --listen and
# --database; and scripts/run-serve (make run) adds nothing to a
# configuration the user set. Needs bash, curl, jq.

. "$(dirname "$0")/lib.sh"
need_jq

EX="$HERALD_SRC/examples"

# --- herald config: every problem, offline -----------------------------------
cat >"$T/catalog.yaml" <<'YAML'
services:
  - name: api
    ownerIm: #backend-deploys
  - name: web
    ownerIM: "@jane"
  - name: billing
    ownerIm: "@"
  - name: search
    ownerIm: "backend deploys"
  - name: mail
    ownerIm: "@ops@example.com"
YAML
cat >"$T/near.yaml" <<'YAML'
service:
  - name: api
YAML

NOTIFICATIONS_CHANNEL_MAPPING='staging=#s production=#p' run config
is "$RC" 2 "config: a mapping item that swallowed a comma is an error (exit 2)"
like "$OUT" 'problem: NOTIFICATIONS_CHANNEL_MAPPING: item 1 "staging=#s production=#p" holds a second "=": separate items with commas, e.g. staging=#s,production=#p' \
	"config: the mapping problem shows the items split"

HERALD_CATALOG="$T/catalog.yaml" run config
is "$RC" 2 "config: Owner IMs that are not destinations are errors (exit 2)"
like "$OUT" 'problem: HERALD_CATALOG: .*catalog.yaml:6: the ownerIm of service "billing" is not a destination: "@": no user after "@"' \
	'config: ownerIm "@"'
like "$OUT" 'problem: HERALD_CATALOG: .*catalog.yaml:8: the ownerIm of service "search" is not a destination: "backend deploys": a channel name cannot contain white space' \
	'config: ownerIm "backend deploys"'
like "$OUT" 'warning: .*catalog.yaml:3: ownerIm is empty: YAML reads the unquoted #backend-deploys as a comment; quote it: ownerIm: "#backend-deploys"' \
	'config: "ownerIm: #chan" read as a comment is a warning that says to quote it'
like "$OUT" 'warning: .*catalog.yaml:5: unknown key "ownerIM" skipped: did you mean ownerIm\?' \
	'config: ownerIM names the closest known key'
unlike "$OUT" 'service "mail"' "config: an e-mail Owner IM is fine with the log provider"

NOTIFICATIONS_PROVIDER=discord NOTIFICATIONS_TOKEN=discord-test-token HERALD_CATALOG="$T/catalog.yaml" run config
like "$OUT" 'warning: .*catalog.yaml:10: the ownerIm of service "mail" is not a destination on discord: "@ops@example.com": Discord cannot message by email; use @username or @<user id>; events of app mail are refused until it changes' \
	"config: an e-mail direct message on Discord is a warning (a catalog may serve both platforms)"

HERALD_CATALOG="$T/near.yaml" run config
is "$RC" 0 "config: unknown catalog keys are warnings (exit 0)"
like "$OUT" 'warning: .*near.yaml:1: unknown key "service" skipped: did you mean services\?' \
	'config: a top-level "service:" names "services"'

NOTIFICATIONS_PROVIDER=slack NOTIFICATIONS_TOKEN=xoxb-1 HERALD_SLACK_API_URL=http://slack-proxy.example/api run config
is "$RC" 2 "config: plain http:// off loopback is an error"
like "$OUT" 'problem: HERALD_SLACK_API_URL "http://slack-proxy.example/api" is plain http:// to a host other than this machine.*use https://, or set HERALD_ALLOW_INSECURE_HTTP=1' \
	"config: the API URL problem says what to do"
NOTIFICATIONS_PROVIDER=slack NOTIFICATIONS_TOKEN=xoxb-1 HERALD_SLACK_API_URL=http://127.0.0.1:9/api run config
is "$RC" 0 "config: plain http:// to loopback is fine"

NOTIFICATIONS_CHANEL_MAPPING='staging=#s' HERALD_LISTN=127.0.0.1:1 HERALD_BOGUS_THING=1 run config
is "$RC" 0 "config: unknown variables are warnings (exit 0)"
like "$OUT" 'warning: NOTIFICATIONS_CHANEL_MAPPING is set but is not a herald variable, so it is ignored: did you mean NOTIFICATIONS_CHANNEL_MAPPING\?' \
	"config: a misspelt NOTIFICATIONS_ variable names the right one"
like "$OUT" 'warning: HERALD_LISTN .*did you mean HERALD_LISTEN\?' "config: a misspelt HERALD_ variable names the right one"
like "$OUT" 'warning: HERALD_BOGUS_THING is set but is not a herald variable.*the closest is HERALD_' \
	"config: any unknown HERALD_ variable is named, with the closest known one"

run config --json
is "$(printf '%s' "$OUT" | jq -r '.problems | length')" 0 "config --json: no problems by default"

# --- the same checks in every command ----------------------------------------
printf '{"type":"deploy","status":"succeeded","app":"x","env":"staging"}' >"$T/ev.json"
NOTIFICATIONS_CHANNEL_MAPPING='staging=#s production=#p' run route "$T/ev.json"
is "$RC" 2 "route: refuses the configuration config refuses"
like "$ERR" 'holds a second "="' "route: says why"
NOTIFICATIONS_CHANNEL_MAPPING='staging=#s production=#p' run send "$T/ev.json"
is "$RC" 2 "send: refuses it too"

NOTIFICATIONS_PROVIDER=discord NOTIFICATIONS_TOKEN=xoxb-123-abc run check
is "$RC" 2 "check: a Slack token with discord is a configuration error"
like "$ERR" 'NOTIFICATIONS_TOKEN has the shape of a Slack token \(xox…\) but NOTIFICATIONS_PROVIDER is discord' \
	"check: says the token has the other platform's shape"
unlike "$ERR$OUT" 'xoxb-123-abc' "check: without showing the token"
NOTIFICATIONS_PROVIDER=discord NOTIFICATIONS_TOKEN='Bot abc.def.ghi' run check
is "$RC" 2 'check: a "Bot " prefix is a configuration error'
like "$ERR" 'NOTIFICATIONS_TOKEN starts with "Bot ": set it to the token alone' 'check: says to drop the "Bot " prefix'

start_fake --slack-rate 0 --quiet
NOTIFICATIONS_PROVIDER=slack NOTIFICATIONS_TOKEN=xoxp-user-token HERALD_SLACK_API_URL="$SLACK_URL" \
	NOTIFICATIONS_DEFAULT_CHANNEL='#deploys' run check
is "$RC" 1 "check: a user token is refused by Slack (exit 1)"
like "$OUT" 'token: NOTIFICATIONS_TOKEN is a Slack user token \(xoxp-…\): use the app.s Bot User OAuth Token' \
	"check: says a bot token is needed"
NOTIFICATIONS_PROVIDER=slack NOTIFICATIONS_TOKEN=xoxb-test-token HERALD_SLACK_API_URL="$SLACK_URL" \
	NOTIFICATIONS_DEFAULT_CHANNEL='#deploys' run check --json
is "$(printf '%s' "$OUT" | jq -r '.destinations[0].status + " " + (.destinations[0].verified|tostring) + " " + (.ok|tostring)')" \
	"unverified false true" "check --json: a Slack channel is unverified, not ok, and check still passes"

# --- herald serve: errors refuse, warnings are printed -----------------------
if try_start_herald NOTIFICATIONS_CHANNEL_MAPPING='staging=#s production=#p'; then
	ok 1 "serve: refuses to start on a configuration error"
else
	wait_herald 10
	is "$HERALD_RC" 2 "serve: refuses to start on a configuration error (exit 2)"
	like "$(cat "$HERALD_ERR")" 'holds a second "="' "serve: says which problem"
fi
HERALD_CATALOG="$T/catalog.yaml" try_start_herald
wait_herald 10
is "$HERALD_RC" 2 "serve: refuses a catalog whose Owner IMs are not destinations"
start_herald HERALD_CATALOG="$T/near.yaml" HERALD_LISTN=1
like "$(cat "$HERALD_ERR")" 'warning: .*unknown key "service" skipped: did you mean services' "serve: prints catalog warnings at the start"
like "$(cat "$HERALD_ERR")" 'warning: HERALD_LISTN .*did you mean HERALD_LISTEN' "serve: prints variable warnings at the start"
stop_herald

# --- serve --listen and --database --------------------------------------------
run serve --help
like "$OUT" '--listen HOST:PORT' "serve --help: lists --listen"
like "$OUT" '--database PATH' "serve --help: lists --database"
run serve --listen 8080
is "$RC" 2 "serve --listen: a bad address is a usage error"
like "$ERR" 'herald serve: --listen "8080" has no port: use host:port' "serve --listen: the problem names the flag"
HERALD_ERR="$T/flags.err"
HERALD_LISTEN=127.0.0.1:1 HERALD_DATABASE=/nonexistent/x.db \
	"$HERALD" serve --listen 127.0.0.1:0 --database "$T/flags.db" >"$T/flags.out" 2>"$HERALD_ERR" </dev/null &
HERALD_PID=$!
_pids+=("$HERALD_PID")
HERALD_PORT=
if wait_herald_up; then
	ok 0 "serve --listen --database: override HERALD_LISTEN and HERALD_DATABASE"
else
	ok 1 "serve --listen --database: override HERALD_LISTEN and HERALD_DATABASE"
fi
like "$HERALD_START_LINE" "database=$T/flags.db" "serve --database: the start line names the flag's file"
ok "$([ -f "$T/flags.db" ]; echo $?)" "serve --database: the database is where the flag says"

# --- messages as sentences ---------------------------------------------------
HERALD_ERR="$T/inuse.err"
"$HERALD" serve --listen "127.0.0.1:$HERALD_PORT" --database "$T/inuse.db" >/dev/null 2>"$HERALD_ERR" </dev/null &
p=$!
_pids+=("$p")
wait_exit "$p" 20
is "$EXIT_RC" 1 "a port in use: exit 1"
like "$(cat "$HERALD_ERR")" "herald: HERALD_LISTEN: cannot listen on 127.0.0.1:$HERALD_PORT: Address already in use: another process has that port; stop it, or pick another port \(HERALD_LISTEN or --listen\)" \
	"a port in use: one sentence that says what to do"
stop_herald

mkdir "$T/dbdir"
run serve --listen 127.0.0.1:0 --database "$T/dbdir"
is "$RC" 1 "a database path that is a directory: exit 1"
like "$ERR" "cannot open database $T/dbdir: it is a directory: name a file, e.g. $T/dbdir/herald.db" \
	"a database path that is a directory: says so"
echo 'not a database at all, just text' >"$T/notes.txt"
run serve --listen 127.0.0.1:0 --database "$T/notes.txt"
is "$RC" 1 "a file that is not a database: exit 1"
like "$ERR" "cannot open database $T/notes.txt: the file is not a SQLite database" \
	"a file that is not a database: says so"

run send "$T/ev.json"
is "$RC" 1 "send unrouted: exit 1"
like "$ERR" 'not sent: unrouted: no channel in the event' "send unrouted: says unrouted"
unlike "$ERR" 'unrouted: unrouted:' "send unrouted: says it once"

# --- route: several files; route, send and serve print the same body ---------
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
run route --json "$EX/deploy-succeeded.json" "$EX/rollback-started.json"
is "$RC" 0 "route: several files: exit 0"
is "$(printf '%s\n' "$OUT" | grep -c '"payload"')" 2 "route: one line per event of every file"
run route --json "$EX"/*.json
is "$(printf '%s\n' "$OUT" | grep -c '"payload"')" "$(cat "$EX"/*.json | jq -s '[.[] | if type == "array" then .[] else . end] | length')" \
	"route examples/*.json: every example routed"
run route "$EX/deploy-succeeded.json" "$T/missing.json"
is "$RC" 2 "route: a missing file among several: exit 2"
like "$OUT" '^deploy succeeded app=api' "route: the readable file is still routed"
like "$ERR" 'missing.json' "route: the missing file is named"

run route --json "$EX/deploy-succeeded.json"
route_body=$(printf '%s' "$OUT" | jq -cS .payload)
run send "$EX/deploy-succeeded.json"
send_body=$(printf '%s' "$OUT" | jq -cS .payload)
start_herald
api_post /api/v1/events @"$EX/deploy-succeeded.json"
wait_until 10 grep -q '"body"' "$HERALD_OUT"
serve_body=$(grep -m1 '"body"' "$HERALD_OUT" | jq -cS .body)
stop_herald
like "$route_body" '"blocks"' "log provider: route prints the platform body (Slack's blocks)"
is "$route_body" "$serve_body" "log provider: route prints the body serve prints"
is "$send_body" "$serve_body" "log provider: send prints the body serve prints"
unset NOTIFICATIONS_DEFAULT_CHANNEL

# --- scripts/run-serve (make run) --------------------------------------------
# run_serve NAME [VAR=VALUE...]: starts scripts/run-serve with the build of
# $HERALD, a port of its own and a database in $T; sets HERALD_* as
# start_herald does.
run_serve() {
	local name=$1
	shift
	HERALD_ERR="$T/$name.err"
	HERALD_OUT="$T/$name.out"
	env "$@" HERALD_LISTEN=127.0.0.1:0 HERALD_DATABASE="$T/$name.db" \
		"$HERALD_SRC/scripts/run-serve" "$(dirname "$HERALD")" \
		>"$HERALD_OUT" 2>"$HERALD_ERR" </dev/null &
	HERALD_PID=$!
	_pids+=("$HERALD_PID")
	HERALD_PORT=
	wait_herald_up || { echo "Bail out! run-serve did not start: $(cat "$HERALD_ERR")"; exit 1; }
}

run_serve demo
like "$(head -1 "$HERALD_ERR")" '^run-serve: demo: nothing configured, so notifications are printed, not delivered, and routed by examples/catalog.yaml' \
	"make run, nothing set: the first line says it is the demo with the examples"
api_post /api/v1/events @"$EX/deploy-succeeded.json"
is "$(printf '%s' "$BODY" | jq -r '.accepted[0].destination')" '#backend-deploys' "make run, demo: the example catalog routes"
stop_herald

run_serve mine NOTIFICATIONS_DEFAULT_CHANNEL='#mine'
like "$(head -1 "$HERALD_ERR")" '^run-serve: your configuration, as set \(NOTIFICATIONS_DEFAULT_CHANNEL\), nothing added' \
	"make run, something set: the first line says nothing is added"
api_post /api/v1/events @"$EX/deploy-succeeded.json"
is "$(printf '%s' "$BODY" | jq -r '.accepted[0].destination + " " + .accepted[0].reason')" \
	'#mine default channel (NOTIFICATIONS_DEFAULT_CHANNEL)' \
	"make run, something set: no example catalog or mapping is added"
stop_herald

no_sanitizer_reports
done_testing
