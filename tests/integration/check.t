#!/usr/bin/env bash
# `herald check` against the fake Slack: a working setup, a person who does
# not exist, --send-test to good and bad channels, --json, a rejected token,
# the log provider and configuration errors. Needs bash, curl, perl.

. "$(dirname "$0")/lib.sh"

start_fake --slack-rate 0 --quiet
use_slack
cat >"$T/catalog.yaml" <<'EOF'
services:
  - name: api
    ownerIm: "@jane"
  - name: web
    ownerIm: "#deploys"
  - name: billing
    ownerIm: "@john@example.com"
EOF
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export NOTIFICATIONS_CHANNEL_MAPPING='production=#production-deploys'
export HERALD_CATALOG="$T/catalog.yaml"

# --- everything works --------------------------------------------------------
run check
is "$RC" 0 "check: exit 0"
like "$OUT" '^configuration: ok \(provider slack\)' "check: the configuration is ok"
like "$OUT" 'token: ok \(bot @herald in workspace Acme\)' "check: who the bot is"
like "$OUT" '#deploys \(default channel, owner IM of web\): not verified \(Slack channels can be checked only by posting: use --send-test\)' \
	"check: a channel, deduplicated, with its sources"
like "$OUT" '#production-deploys \(env production\): not verified' "check: the mapped channel"
like "$OUT" '@jane \(owner IM of api\): ok \(direct message channel D0000000001\)' \
	"check: a person is resolved to the DM channel"
like "$OUT" '@john@example.com \(owner IM of billing\): ok \(direct message channel D0000000002\)' \
	"check: a person by email"
is "$(printf '%s\n' "$OUT" | grep -c '#deploys')" 1 "check: each destination once"
is "$(slack_count)" 0 "check: posts nothing without --send-test"

run check --json
is "$RC" 0 "check --json: exit 0"
is "$(printf '%s' "$OUT" | pj '$d->{ok} ? "true" : "false"')" true "check --json: ok"
is "$(printf '%s' "$OUT" | pj '$d->{identity}')" "bot @herald in workspace Acme" "check --json: identity"
is "$(printf '%s' "$OUT" | pj 'scalar @{$d->{destinations}}')" 4 "check --json: 4 destinations"
is "$(printf '%s' "$OUT" | pj '(grep { $_->{destination} eq "\@jane" } @{$d->{destinations}})[0]{channel_id}')" \
	D0000000001 "check --json: the person's channel ID"

# --- --send-test -------------------------------------------------------------
fake_reset
run check --send-test
is "$RC" 0 "check --send-test: exit 0"
like "$OUT" '#deploys .*: ok: test message sent \(channel C0000000001, ts [0-9.]+\)' \
	"check --send-test: the channel got its test message"
is "$(slack_count)" 4 "check --send-test: one message per destination"
like "$(messages deploys | pj '$d->{slack}[0]{text}')" 'herald check: test message from' \
	"check --send-test: the test message text"

# --- problems ----------------------------------------------------------------
fake_reset
NOTIFICATIONS_CHANNEL_MAPPING='staging=#nope,production=#archived' run check --send-test
is "$RC" 1 "a bad channel with --send-test: exit 1"
like "$OUT" '#nope \(env staging\): failed: test message not sent: Slack: channel_not_found for "#nope"' \
	"a bad channel: the platform's error"
like "$OUT" '#archived \(env production\): failed: .*is_archived' "an archived channel: the platform's error"
like "$OUT" '#deploys .*: ok' "the good channel is still ok"

cat >"$T/catalog-bad.yaml" <<'EOF'
services:
  - name: api
    ownerIm: "@nobody"
EOF
HERALD_CATALOG="$T/catalog-bad.yaml" run check
is "$RC" 1 "an unknown person: exit 1"
like "$OUT" '@nobody \(owner IM of api\): failed: Slack: no user named "nobody"' \
	"an unknown person: says who and what was searched"

HERALD_CATALOG="$T/catalog-bad.yaml" run check --json
is "$RC" 1 "an unknown person, --json: exit 1"
is "$(printf '%s' "$OUT" | pj '$d->{ok} ? "true" : "false"')" false "--json: ok is false"
is "$(printf '%s' "$OUT" | pj '(grep { $_->{destination} eq "\@nobody" } @{$d->{destinations}})[0]{error}{code}')" \
	user_not_found "--json: the error code"

NOTIFICATIONS_TOKEN=xoxb-not-the-token run check
is "$RC" 1 "a bad token: exit 1"
like "$OUT" 'token: failed: Slack: invalid_auth' "a bad token: the platform's error"
like "$OUT" 'NOTIFICATIONS_TOKEN' "a bad token: what to fix"
like "$OUT" 'not checked: the token does not work' "a bad token: destinations are not checked"

fake_fault '{"platform":"slack","path":"auth.test","status":503,"count":5}'
run check
is "$RC" 1 "Slack unavailable: exit 1"
like "$OUT" 'token: failed: .*service_unavailable' "Slack unavailable: says so"
fake_reset

# --- the log provider and configuration errors ------------------------------
NOTIFICATIONS_PROVIDER= run check
is "$RC" 0 "log provider: exit 0"
like "$OUT" 'nothing to check online' "log provider: nothing to check online"

NOTIFICATIONS_PROVIDER=pigeon run check
is "$RC" 2 "a configuration error: exit 2"
NOTIFICATIONS_CHANNEL_MAPPING='production=#Bad Channel' run check
is "$RC" 2 "an invalid destination: exit 2"
run check --bogus
is "$RC" 2 "an unknown option: exit 2"
run check extra
is "$RC" 2 "an argument: exit 2"

done_testing
