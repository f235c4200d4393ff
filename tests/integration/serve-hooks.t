#!/usr/bin/env bash
# `herald serve`'s webhooks (POST /api/v1/hooks/{flux,alertmanager,github}
# and Gimlet's /api/flux-events) end to end against the fake Slack and
# Discord, with the payload fixtures of tests/inputs/: a Flux HelmRelease
# started→succeeded is one message, edited, and a Flux retry a duplicate; a
# Kustomization change set→healthy→applied is one message; an "applied"
# alone is skipped; a source's info event is ignored with a reason; an
# Alertmanager alert firing→re-sent→resolved is one message, edited, and a
# resolution never seen firing is skipped; ?group=, ?min_severity= and the
# owner_im label; GitHub's ping, push, deployment_status
# in_progress→success (one message) and redeliveries; the hooks' auth
# (bearer, ?access_token=, Flux's X-Signature sha256/sha512, GitHub's
# X-Hub-Signature-256, 401s with their challenge, 403 for an unsigned GitHub
# hook off loopback) with no token or key in the logs; 413 over 4 MiB (and
# 1 MiB on /api/v1/events), 400 for not JSON or another shape, 415 for a
# form; the source label of herald_events_received_total; a story across a
# restart; and the Flux and Alertmanager stories on Discord. Needs bash,
# curl, jq, perl, and openssl or python3 (for the HMACs).

. "$(dirname "$0")/lib.sh"
need_jq

FX="$HERALD_SRC/tests/inputs/flux"
AX="$HERALD_SRC/tests/inputs/alertmanager"
GX="$HERALD_SRC/tests/inputs/github"

API_SECRET=herald-api-SERVEHOOKS-t0k3n-5q6w7e
FLUX_KEY=flux-hmac-SERVEHOOKS-k3y-1p2o3i
GH_SECRET=gh-secret-SERVEHOOKS-s3cr3t-9m8n7b

if command -v openssl >/dev/null 2>&1; then
	# hmac_hex ALG KEY FILE: the HMAC of FILE's bytes in hex (sha256, sha512).
	hmac_hex() { openssl dgst "-$1" -hmac "$2" <"$3" | awk '{print $NF}'; }
elif command -v python3 >/dev/null 2>&1; then
	hmac_hex() {
		python3 -c 'import hmac, sys
print(hmac.new(sys.argv[2].encode(), open(sys.argv[3], "rb").read(), sys.argv[1]).hexdigest())' "$@"
	}
else
	echo "Bail out! neither openssl nor python3 to compute HMACs"
	exit 1
fi

start_fake --quiet --slack-rate 0 --discord-bucket-limit 1000 --discord-bucket-window 1
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export NOTIFICATIONS_CHANNEL_MAPPING='staging=#staging-deploys'
export HERALD_LOG_LEVEL=debug
export HERALD_SLACK_RATE=100 HERALD_SLACK_BURST=1000 HERALD_SLACK_WORKSPACE_RATE=0

# --- helpers -------------------------------------------------------------------
# ADMIN_TOKEN, when set, is sent to read the delivery log (the hooks
# themselves are called with the credentials each test gives).
ADMIN_TOKEN=

# jb [JQ-OPTIONS] FILTER: jq -r on the last answer's body.
jb() { printf '%s' "$BODY" | jqr "$@"; }

# hook PATH FILE [CURL-ARGS...]: POST FILE's bytes to PATH as
# application/json with no token; sets STATUS, BODY and HEADERS like api
# (with fewer processes: this test makes many requests).
hook() {
	local p=$1 f=$2
	shift 2
	: >"$T/hook.body"
	: >"$T/hook.headers"
	STATUS=$(curl -sS -m 60 -o "$T/hook.body" -D "$T/hook.headers" -w '%{http_code}' \
		-H 'Content-Type: application/json' --data-binary "@$f" "$@" \
		"$HERALD_URL$p" 2>"$T/hook.curlerr")
	[ -n "$STATUS" ] || STATUS=000
	BODY=$(<"$T/hook.body")
	HEADERS=$(<"$T/hook.headers")
	HEADERS=${HEADERS//$'\r'/}
}

# getn ID [JQ-OPTIONS] FILTER: FILTER on notification ID (from the API).
getn() {
	local id=$1 a=()
	shift
	[ -n "$ADMIN_TOKEN" ] && a=(-H "Authorization: Bearer $ADMIN_TOKEN")
	curl -sS -m 10 "${a[@]}" "$HERALD_URL/api/v1/notifications/$id" | jqr "$@"
}

# wait_state ID STATE: polls up to 30 s; says where it stands on failure.
wait_state() {
	local i s
	for i in $(seq 1 150); do
		s=$(getn "$1" .state)
		[ "$s" = "$2" ] && return 0
		case "$s" in failed|dead|skipped|superseded|unchanged) [ "$s" != "$2" ] && break ;; esac
		sleep 0.2
	done
	printf '# notification %s is %s, not %s (last_error %s)\n' "$1" "$s" "$2" "$(getn "$1" -c .last_error)"
	return 1
}

# settle: nothing queued, sending or retrying (30 s at most; this test
# stores far fewer than the 1000 notifications of one page).
_settled() {
	local a=()
	[ -n "$ADMIN_TOKEN" ] && a=(-H "Authorization: Bearer $ADMIN_TOKEN")
	curl -fsS -m 10 "${a[@]}" "$HERALD_URL/api/v1/notifications?limit=1000" |
		jq -e '.notifications | all(.state | IN("queued", "sending", "retrying") | not)' >/dev/null
}
settle() { wait_until 30 _settled; }

# count PLATFORM: messages the fake holds for PLATFORM.
count() { curl -fsS -m 10 "$FAKE_URL/_fake/messages" | jq ".$1 | length"; }

# msg PLATFORM ID FILTER: FILTER on the fake's message that notification ID
# names (Slack ts or Discord id), with .t its text (Slack: text; Discord:
# content and embeds) and .h its earlier versions as text.
msg() {
	local mid
	mid=$(getn "$2" .message_id)
	curl -fsS -m 10 "$FAKE_URL/_fake/messages" | jq -r --arg m "$mid" "
		[.$1[] | select((.ts // .id) == \$m)
		 | . + {t: (if has(\"ts\") then .text else ([.content, (.embeds | tostring)] | join(\" \")) end),
		        h: (.history | tostring)}]
		| if length == 1 then .[0] | $3 else \"\(length) messages with id \(\$m)\" end"
}

# variant OUT FILTER FILE: writes jq -c FILTER of FILE to $T/OUT (a body
# derived from a fixture; each use says which and how).
variant() { jq -c "$2" "$3" >"$T/$1"; }

# --- Slack, hooks open (no token: loopback only) ---------------------------------
use_slack
start_herald
slack0=$(count slack)

# --- Flux: a HelmRelease upgrade, started then succeeded: one message, edited ---
hook /api/v1/hooks/flux "$FX/derived-helm-v2beta1-upgrade-started.json"
is "$STATUS" 202 "flux: HelmRelease upgrade started: 202"
is "$(jb '.accepted | length')" 1 "flux: started: one event"
like "$(jb '.accepted[0].event_id')" '^flux:' "flux: started: the event id is flux:…"
is "$(jb '.accepted[0].destination')" '#deploys' "flux: started: routed to the default channel"
is "$(jb '.ignored | length')" 0 "flux: started: nothing ignored"
h1=$(jb '.accepted[0].notification_id')
wait_state "$h1" delivered
ok $? "flux: started: delivered"
is "$(count slack)" $((slack0 + 1)) "flux: started: one Slack message"
like "$(msg slack "$h1" .t)" 'Rolling out.*appnamehere' "flux: started: the message says it is rolling out"

hook /api/v1/hooks/flux "$FX/flux2-4453-helm-upgrade-succeeded.json"
is "$STATUS" 202 "flux: HelmRelease upgrade succeeded: 202"
h2=$(jb '.accepted[0].notification_id')
wait_state "$h2" delivered
ok $? "flux: succeeded: delivered"
is "$(count slack)" $((slack0 + 1)) "flux: succeeded: still one Slack message"
is "$(getn "$h2" .message_id)" "$(getn "$h1" .message_id)" "flux: succeeded edits the started message"
is "$(msg slack "$h2" .edited)" true "flux: the fake's message was edited"
like "$(msg slack "$h2" .t)" 'appnamehere 0\.1\.3\+2 is live on flux-system' "flux: the final text says live"
unlike "$(msg slack "$h2" .t)" 'Rolling out' "flux: the final text no longer says rolling out"
like "$(msg slack "$h2" .h)" 'Rolling out' "flux: the edit replaced the started text"

hook /api/v1/hooks/flux "$FX/flux2-4453-helm-upgrade-succeeded.json"
is "$STATUS" 200 "flux: the same body again (a Flux retry): 200"
is "$(jb '.accepted[0].duplicate')" true "flux: retry: duplicate true"
is "$(jb '.accepted[0].notification_id')" "$h2" "flux: retry: names the first notification"
settle
is "$(count slack)" $((slack0 + 1)) "flux: retry: no second message"

# --- Flux: a Kustomization change set, health check passed, reconciliation finished
k=()
for f in derived-kustomization-change-set derived-kustomization-health-check-passed \
	derived-kustomization-reconciliation-finished; do
	hook /api/v1/hooks/flux "$FX/$f.json"
	[ "$STATUS" = 202 ] || printf '# %s: %s %s\n' "$f" "$STATUS" "$BODY"
	k+=("$STATUS:$(jb '.accepted[0].notification_id')")
	settle
done
is "${k[*]%%:*}" "202 202 202" "flux: Kustomization progressing, healthy, applied: 202 each"
k=("${k[@]#*:}")
is "$(getn "${k[0]}" .state) $(getn "${k[1]}" .state) $(getn "${k[2]}" .state)" \
	"delivered delivered delivered" "flux: Kustomization: all three delivered"
is "$(count slack)" $((slack0 + 2)) "flux: Kustomization: one message for the three"
is "$(getn "${k[1]}" .message_id) $(getn "${k[2]}" .message_id)" \
	"$(getn "${k[0]}" .message_id) $(getn "${k[0]}" .message_id)" "flux: Kustomization: healthy and applied edit the change set's message"
like "$(msg slack "${k[2]}" .t)" 'Applied GitOps commit a1afe26' "flux: Kustomization: the final text says applied"
like "$(msg slack "${k[2]}" .h)" 'Applying GitOps commit.*healthy' "flux: Kustomization: it went through applying and healthy"

# An "applied" alone: derived-kustomization-reconciliation-finished.json with
# another revision (a run that changed nothing new).
variant applied-alone.json '.metadata.revision = "main@sha1:b2b2e267b54f38b46b487f6e938a6fd508278c07"' \
	"$FX/derived-kustomization-reconciliation-finished.json"
hook /api/v1/hooks/flux "$T/applied-alone.json"
is "$STATUS" 202 "flux: applied alone for a new revision: 202"
wait_state "$(jb '.accepted[0].notification_id')" skipped
ok $? "flux: applied alone: skipped (edit only, no message to edit)"
is "$(count slack)" $((slack0 + 2)) "flux: applied alone: nothing posted"

# A source's info event.
hook /api/v1/hooks/flux "$FX/docs-v1beta1-fetched-revision.json"
is "$STATUS" 200 "flux: GitRepository info event: 200"
is "$(jb -c .accepted)" '[]' "flux: GitRepository info: accepted []"
like "$(jb '.ignored[0]')" 'GitRepository/flux-system/flux-system: .*not notifications' \
	"flux: GitRepository info: the reason in ignored"

# --- Alertmanager ------------------------------------------------------------------
# kubenotifyplus-kubepodcrashlooping.json with its first alert only.
variant am-firing.json '.alerts |= [.[0]]' "$AX/kubenotifyplus-kubepodcrashlooping.json"
# The same, resolved: both statuses resolved, endsAt set.
variant am-resolved.json '.status = "resolved" | .alerts[0].status = "resolved"
	| .alerts[0].endsAt = "2024-12-31T06:02:37.42Z"' "$T/am-firing.json"
hook /api/v1/hooks/alertmanager "$T/am-firing.json"
is "$STATUS" 202 "alertmanager: firing KubePodCrashLooping: 202"
like "$(jb '.accepted[0].event_id')" '^am:' "alertmanager: the event id is am:…"
a1=$(jb '.accepted[0].notification_id')
wait_state "$a1" delivered
ok $? "alertmanager: firing: delivered"
is "$(count slack)" $((slack0 + 3)) "alertmanager: firing: one message"
like "$(msg slack "$a1" .t)" 'KubePodCrashLooping: cpu-throttle/cpu-throttle-example' "alertmanager: firing: names the alert and pod"
firing_text=$(msg slack "$a1" .t)

hook /api/v1/hooks/alertmanager "$T/am-firing.json"
is "$STATUS" 200 "alertmanager: the same notification again (repeat_interval): 200"
is "$(jb '.accepted[0].duplicate') $(jb '.accepted[0].notification_id')" "true $a1" \
	"alertmanager: repeat: a duplicate of the first"
settle
is "$(count slack)" $((slack0 + 3)) "alertmanager: repeat: no new message"

hook /api/v1/hooks/alertmanager "$T/am-resolved.json"
is "$STATUS" 202 "alertmanager: resolved: 202"
a2=$(jb '.accepted[0].notification_id')
wait_state "$a2" delivered
ok $? "alertmanager: resolved: delivered"
is "$(count slack)" $((slack0 + 3)) "alertmanager: resolved: no new message"
is "$(getn "$a2" .message_id)" "$(getn "$a1" .message_id)" "alertmanager: resolved edits the firing message"
like "$(msg slack "$a2" .t)" 'Resolved' "alertmanager: the message now says resolved"
ok "$([ "$(msg slack "$a2" .t)" != "$firing_text" ]; echo $?)" "alertmanager: the text changed"

hook /api/v1/hooks/alertmanager "$AX/pythonwebhook-relative-generatorurl.json"
is "$STATUS" 202 "alertmanager: a resolved alert never seen firing: 202"
like "$(jb '.ignored[0]')" 'generatorURL' "alertmanager: ... its relative generatorURL noted in ignored"
wait_state "$(jb '.accepted[0].notification_id')" skipped
ok $? "alertmanager: resolved, never firing: skipped"
is "$(count slack)" $((slack0 + 3)) "alertmanager: resolved, never firing: nothing posted"

hook '/api/v1/hooks/alertmanager?group=true' "$AX/kubenotifyplus-kubepodcrashlooping.json"
is "$STATUS" 202 "alertmanager: ?group=true with three alerts: 202"
is "$(jb '.accepted | length')" 1 "alertmanager: ?group=true: one event"
wait_state "$(jb '.accepted[0].notification_id')" delivered
ok $? "alertmanager: ?group=true: delivered"
is "$(count slack)" $((slack0 + 4)) "alertmanager: ?group=true: one message"
gt=$(msg slack "$(jb '.accepted[0].notification_id')" .t)
like "$gt" 'cpu-throttle-example' "alertmanager: group: lists the first pod"
like "$gt" 'crash-loopbackoff-example' "alertmanager: group: lists the second pod"
like "$gt" 'oom-example' "alertmanager: group: lists the third pod"

# kubenotifyplus-kubepodcrashlooping.json under another receiver, the second
# alert warning and the third info.
variant am-mixed.json '.receiver = "min-severity" | .alerts[1].labels.severity = "warning"
	| .alerts[2].labels.severity = "info"' "$AX/kubenotifyplus-kubepodcrashlooping.json"
hook '/api/v1/hooks/alertmanager?min_severity=critical' "$T/am-mixed.json"
is "$STATUS" 202 "alertmanager: ?min_severity=critical: 202"
is "$(jb '.accepted | length')" 1 "alertmanager: ?min_severity=critical: only the critical alert"
is "$(jb '[.ignored[] | select(test("below min_severity critical"))] | length')" 2 \
	"alertmanager: ?min_severity=critical: the warning and the info in ignored"
hook '/api/v1/hooks/alertmanager?min_severity=bogus' "$T/am-mixed.json"
is "$STATUS" 400 "alertmanager: ?min_severity=bogus: 400"
like "$(jb .error)" 'min_severity' "alertmanager: ?min_severity=bogus: the error names it"
settle
is "$(count slack)" $((slack0 + 5)) "alertmanager: ?min_severity=critical: one message, for the critical alert"

# kubenotifyplus-kubepodnotready.json under another receiver, with an
# owner_im label.
variant am-owner.json '.receiver = "owner-im" | .alerts[0].labels.owner_im = "#backend-deploys"' \
	"$AX/kubenotifyplus-kubepodnotready.json"
hook /api/v1/hooks/alertmanager "$T/am-owner.json"
is "$STATUS" 202 "alertmanager: owner_im label: 202"
is "$(jb '.accepted[0].destination')" '#backend-deploys' "alertmanager: owner_im routes to that destination"
like "$(jb '.accepted[0].reason')" 'owner IM given by the event' "alertmanager: owner_im: the reason says so"
wait_state "$(jb '.accepted[0].notification_id')" delivered
ok $? "alertmanager: owner_im: delivered"
is "$(curl -fsS "$FAKE_URL/_fake/messages?channel=backend-deploys" | jq '.slack | length')" 1 \
	"alertmanager: owner_im: the message is in #backend-deploys"
settle

# --- GitHub -----------------------------------------------------------------------
n_before=$(API_TOKEN='' log_states | grep -c .)
hook /api/v1/hooks/github "$GX/octokit-ping.json" -H 'X-GitHub-Event: ping' -H 'X-GitHub-Delivery: ping-1'
is "$STATUS" 200 "github: ping: 200"
is "$(jb -c .accepted)" '[]' "github: ping: nothing accepted"
hook /api/v1/hooks/github "$GX/octokit-ping.json" -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: push-1'
is "$STATUS" 200 "github: push: 200"
like "$(jb '.ignored[0]')" 'push.*not handled' "github: push: the reason in ignored"
is "$(API_TOKEN='' log_states | grep -c .)" "$n_before" "github: ping and push stored nothing"

# octokit-success.json as in_progress, five seconds earlier.
variant gh-in-progress.json '.deployment_status.state = "in_progress"
	| .deployment_status.created_at = "2019-05-15T15:20:50Z"
	| .deployment_status.updated_at = "2019-05-15T15:20:50Z"' "$GX/octokit-success.json"
hook /api/v1/hooks/github "$T/gh-in-progress.json" -H 'X-GitHub-Event: deployment_status' \
	-H 'X-GitHub-Delivery: 11111111-aaaa-11ee-8000-000000000001'
is "$STATUS" 202 "github: deployment_status in_progress: 202"
is "$(jb '.accepted[0].event_id')" 'github:11111111-aaaa-11ee-8000-000000000001' \
	"github: the event id is the delivery id"
g1=$(jb '.accepted[0].notification_id')
wait_state "$g1" delivered
ok $? "github: in_progress: delivered"
is "$(count slack)" $((slack0 + 7)) "github: in_progress: one message"
hook /api/v1/hooks/github "$GX/octokit-success.json" -H 'X-GitHub-Event: deployment_status' \
	-H 'X-GitHub-Delivery: 11111111-aaaa-11ee-8000-000000000002'
is "$STATUS" 202 "github: deployment_status success: 202"
g2=$(jb '.accepted[0].notification_id')
wait_state "$g2" delivered
ok $? "github: success: delivered"
is "$(count slack)" $((slack0 + 7)) "github: success: still one message"
is "$(getn "$g2" .message_id)" "$(getn "$g1" .message_id)" "github: success edits the in_progress message"
like "$(msg slack "$g2" .t)" 'Hello-World.* is live on .*production' "github: the final text says live"
hook /api/v1/hooks/github "$GX/octokit-success.json" -H 'X-GitHub-Event: deployment_status' \
	-H 'X-GitHub-Delivery: 11111111-aaaa-11ee-8000-000000000002'
is "$STATUS" 200 "github: a redelivery: 200"
is "$(jb '.accepted[0].duplicate') $(jb '.accepted[0].notification_id')" "true $g2" \
	"github: redelivery: a duplicate of the first"
API_CT=application/x-www-form-urlencoded api POST /api/v1/hooks/github \
	"payload=$(jq -c . "$GX/octokit-success.json" | perl -pe 's/([^A-Za-z0-9_.~-])/sprintf("%%%02X", ord $1)/ge')" \
	-H 'X-GitHub-Event: deployment_status' -H 'X-GitHub-Delivery: form-1'
is "$STATUS" 415 "github: a form body (payload=…): 415"
like "$(jb .error)" 'application/json' "github: form: the error says to use application/json"
settle
is "$(count slack)" $((slack0 + 7)) "github: redelivery and form: no new message"

# --- limits and errors --------------------------------------------------------------
perl -e 'print "{\"receiver\":\"big\",\"alerts\":[],\"pad\":\"", "y" x (4 * 1024 * 1024), "\"}"' >"$T/over-4m.json"
hook /api/v1/hooks/alertmanager "$T/over-4m.json"
is "$STATUS" 413 "a hook body over 4 MiB: 413"
like "$(jb .error)" '4 MiB' "413: the error says 4 MiB"
hook /api/v1/hooks/github "$T/over-4m.json" -H 'X-GitHub-Event: deployment_status'
is "$STATUS" 413 "github: a body over 4 MiB: 413"
# kubenotifyplus-kubepodnotready.json under another receiver, its annotation
# 2 MiB long.
perl -e 'print "x" x (2 * 1024 * 1024)' >"$T/pad"
jq -c --rawfile pad "$T/pad" '.receiver = "big" | .alerts[0].annotations.message = $pad' \
	"$AX/kubenotifyplus-kubepodnotready.json" >"$T/am-2m.json"
hook /api/v1/hooks/alertmanager "$T/am-2m.json"
is "$STATUS" 202 "a hook body of 2 MiB: 202"
like "$(jb '.ignored[0]')" 'shortened' "2 MiB: the long annotation is shortened (in ignored)"
api POST /api/v1/events "@$T/am-2m.json"
is "$STATUS" 413 "the same 2 MiB on /api/v1/events (1 MiB): 413"
for h in flux alertmanager github; do
	API_TOKEN='' api POST "/api/v1/hooks/$h" 'this is not JSON' -H 'X-GitHub-Event: deployment_status'
	is "$STATUS" 400 "$h: not JSON: 400"
	like "$(jb .error)" 'JSON' "$h: not JSON: an error sentence"
	API_TOKEN='' api POST "/api/v1/hooks/$h" '{"hello": "world", "items": [1, 2]}' -H 'X-GitHub-Event: deployment_status'
	is "$STATUS" 400 "$h: JSON of another shape: 400"
	like "$(jb .error)" '^not an? ' "$h: another shape: the error says what it is not"
done
settle

# --- metrics: the source label ------------------------------------------------------
ms() { metric_sum herald_events_received_total "$@"; }
f0=$(ms source=flux type=deploy); am0=$(ms source=alertmanager type=alert)
g0=$(ms source=github type=deploy); api0=$(ms source=api)
hook /api/v1/hooks/flux "$FX/derived-helm-v2-upgrade-failed.json"
is "$STATUS" 202 "metrics: a Flux upgrade failure: 202"
hook /api/v1/hooks/alertmanager "$AX/alerta-v3-numeric-groupkey.json"
is "$STATUS" 202 "metrics: an Alertmanager v3 alert: 202"
hook /api/v1/hooks/github "$GX/octokit-ghes-35.json" -H 'X-GitHub-Event: deployment_status' -H 'X-GitHub-Delivery: ghes-1'
is "$STATUS" 202 "metrics: a GitHub Enterprise deployment_status: 202"
hook /api/v1/hooks/github "$GX/octokit-ping.json" -H 'X-GitHub-Event: ping'
hook /api/v1/hooks/flux "$FX/forwarder-test.json"
api GET /metrics
like "$BODY" 'herald_events_received_total\{type="deploy",source="flux"\} [1-9]' "metrics: source=\"flux\""
like "$BODY" 'herald_events_received_total\{type="alert",source="alertmanager"\} [1-9]' "metrics: source=\"alertmanager\""
like "$BODY" 'herald_events_received_total\{type="deploy",source="github"\} [1-9]' "metrics: source=\"github\""
like "$BODY" 'herald_events_received_total\{type="gitops",source="flux"\} [1-9]' "metrics: gitops events from flux"
is "$(ms source=flux type=deploy) $(ms source=alertmanager type=alert) $(ms source=github type=deploy)" \
	"$((f0 + 1)) $((am0 + 1)) $((g0 + 1))" "metrics: one event each: +1 per source (ignored ping and info: +0)"
is "$(ms source=api)" "$api0" "metrics: source=\"api\" did not move"
like "$BODY" 'herald_http_requests_total\{[^}]*path="/api/v1/hooks/alertmanager"' "metrics: hook requests by route"
settle

# --- the story survives a restart -----------------------------------------------------
# derived-helm-v2beta1-upgrade-started.json and flux2-4453-helm-upgrade-succeeded.json
# for another release (name and uid changed).
rel='.involvedObject.name = "restart-app" | .involvedObject.uid = "9d1e2f30-0000-4000-8000-00000000beef"'
variant restart-started.json "$rel" "$FX/derived-helm-v2beta1-upgrade-started.json"
variant restart-succeeded.json "$rel" "$FX/flux2-4453-helm-upgrade-succeeded.json"
c0=$(count slack)
hook /api/v1/hooks/flux "$T/restart-started.json"
is "$STATUS" 202 "restart: started accepted"
r1=$(jb '.accepted[0].notification_id')
wait_state "$r1" delivered
ok $? "restart: started delivered"
stop_herald
is "$HERALD_RC" 0 "restart: SIGTERM, exit 0"
start_herald
hook /api/v1/hooks/flux "$T/restart-succeeded.json"
is "$STATUS" 202 "restart: succeeded accepted by the new process"
r2=$(jb '.accepted[0].notification_id')
wait_state "$r2" delivered
ok $? "restart: succeeded delivered"
is "$(count slack)" $((c0 + 1)) "restart: still one message for the story"
is "$(getn "$r2" .message_id)" "$(getn "$r1" .message_id)" "restart: succeeded edited the message from before the restart"
like "$(msg slack "$r2" .t)" 'restart-app .* is live' "restart: the message says live"
stop_herald

# --- auth: token, access_token, signatures ----------------------------------------------
start_herald HERALD_DATABASE="$T/auth.db" HERALD_API_TOKEN="$API_SECRET" \
	HERALD_FLUX_HMAC_KEY="$FLUX_KEY" HERALD_GITHUB_WEBHOOK_SECRET="$GH_SECRET"
ADMIN_TOKEN=$API_SECRET
# Distinct bodies, one per accepted request: kubenotifyplus-kubepodnotready.json
# and derived-gitrepository-auth-failed.json under other receivers / names.
for i in 1 2 3 4 5; do
	variant "am-auth-$i.json" ".receiver = \"auth-$i\"" "$AX/kubenotifyplus-kubepodnotready.json"
	variant "flux-auth-$i.json" ".involvedObject.name = \"auth-$i\" | .involvedObject.uid = \"uid-auth-$i\"" \
		"$FX/derived-gitrepository-auth-failed.json"
done
hook /api/v1/hooks/alertmanager "$T/am-auth-1.json"
is "$STATUS" 401 "auth: no credentials: 401"
like "$HEADERS" 'WWW-Authenticate: Bearer realm="herald"' "auth: 401 carries WWW-Authenticate"
like "$(jb .error)" 'HERALD_API_TOKEN' "auth: 401 names HERALD_API_TOKEN"
hook /api/v1/hooks/flux "$T/flux-auth-1.json"
is "$STATUS" 401 "auth: flux, no credentials (a key is set): 401"
like "$(jb .error)" 'X-Signature' "auth: flux: the error names X-Signature"
hook /api/v1/hooks/alertmanager "$T/am-auth-1.json" -H "Authorization: Bearer $API_SECRET"
is "$STATUS" 202 "auth: the right bearer token: 202"
hook /api/v1/hooks/alertmanager "$T/am-auth-2.json" -H "Authorization: Bearer wrong-$API_SECRET"
is "$STATUS" 401 "auth: a wrong bearer token: 401"
like "$HEADERS" 'WWW-Authenticate: Bearer realm="herald", error="invalid_token"' \
	"auth: wrong token: WWW-Authenticate with invalid_token"
hook "/api/v1/hooks/alertmanager?access_token=$API_SECRET" "$T/am-auth-2.json"
is "$STATUS" 202 "auth: the right ?access_token=: 202"
hook "/api/v1/hooks/alertmanager?access_token=${API_SECRET%?}" "$T/am-auth-3.json"
is "$STATUS" 401 "auth: ?access_token= minus its last character: 401"
hook "/api/v1/hooks/alertmanager?access_token=" "$T/am-auth-3.json"
is "$STATUS" 401 "auth: an empty ?access_token=: 401"

# Flux generic-hmac.
sig=$(hmac_hex sha256 "$FLUX_KEY" "$T/flux-auth-1.json")
hook /api/v1/hooks/flux "$T/flux-auth-1.json" -H "X-Signature: sha256=$sig"
is "$STATUS" 202 "flux hmac: the right sha256 signature: 202"
hook /api/v1/hooks/flux "$T/flux-auth-2.json" -H "X-Signature: sha256=$(hmac_hex sha256 "wrong-$FLUX_KEY" "$T/flux-auth-2.json")"
is "$STATUS" 401 "flux hmac: a signature with another key: 401"
like "$HEADERS" 'WWW-Authenticate: Bearer' "flux hmac: 401 carries WWW-Authenticate"
hook /api/v1/hooks/flux "$T/flux-auth-2.json" -H "X-Signature: sha256=$sig"
is "$STATUS" 401 "flux hmac: the signature of another body: 401"
hook /api/v1/hooks/flux "$T/flux-auth-2.json" -H "X-Signature: sha512=$(hmac_hex sha512 "$FLUX_KEY" "$T/flux-auth-2.json")"
is "$STATUS" 202 "flux hmac: the right sha512 signature: 202"
hook /api/v1/hooks/flux "$T/flux-auth-3.json" -H "X-Signature: sha256=$(hmac_hex sha256 "$FLUX_KEY" "$T/flux-auth-3.json")" \
	-H "Authorization: Basic $(printf 'flux:notthetoken' | base64)"
is "$STATUS" 202 "flux hmac: Authorization: Basic is ignored when the signature is right: 202"
hook "/api/v1/hooks/flux?access_token=$API_SECRET" "$T/flux-auth-4.json" -H 'Authorization: Basic Zmx1eDp4'
is "$STATUS" 202 "flux: Authorization: Basic is ignored with the right ?access_token=: 202"

# Gimlet's path.
hook "/api/flux-events?env=staging&access_token=$API_SECRET" "$FX/derived-helm-v2-upgrade-failed.json"
is "$STATUS" 202 "gimlet: /api/flux-events?env=staging&access_token=TOKEN: 202"
is "$(jb '.accepted[0].destination')" '#staging-deploys' "gimlet: ?env=staging routes by the staging mapping"
hook "/api/flux-events?env=staging&access_token=nope" "$FX/derived-helm-v2-upgrade-failed.json"
is "$STATUS" 401 "gimlet: a wrong access_token: 401"

# GitHub's signature.
gh_sig=$(hmac_hex sha256 "$GH_SECRET" "$GX/octokit-with-installation.json")
ghh=(-H 'X-GitHub-Event: deployment_status')
hook /api/v1/hooks/github "$GX/octokit-with-installation.json" "${ghh[@]}" -H 'X-GitHub-Delivery: sig-1' \
	-H "X-Hub-Signature-256: sha256=$gh_sig"
is "$STATUS" 202 "github: the right X-Hub-Signature-256: 202"
hook /api/v1/hooks/github "$GX/octokit-with-installation.json" "${ghh[@]}" -H 'X-GitHub-Delivery: sig-2' \
	-H "X-Hub-Signature-256: sha256=$(hmac_hex sha256 "wrong-$GH_SECRET" "$GX/octokit-with-installation.json")"
is "$STATUS" 401 "github: a wrong X-Hub-Signature-256: 401"
hook /api/v1/hooks/github "$GX/octokit-with-installation.json" "${ghh[@]}" -H 'X-GitHub-Delivery: sig-3'
is "$STATUS" 401 "github: no signature and no token: 401"
like "$(jb .error)" 'X-Hub-Signature-256' "github: the error names X-Hub-Signature-256"
hook /api/v1/hooks/github "$GX/octokit-with-installation.json" "${ghh[@]}" -H 'X-GitHub-Delivery: sig-4' \
	-H "Authorization: Bearer $API_SECRET"
is "$STATUS" 202 "github: no signature but the bearer token: 202"

settle
ok $? "auth: everything accepted settled"
is "$(API_TOKEN=$API_SECRET log_states | grep -c .)" 9 "auth: the nine 202s stored nine notifications, the 401s none"
stop_herald

# --- off loopback: GitHub needs its secret -------------------------------------------------
start_herald HERALD_LISTEN="0.0.0.0:$(free_port)" HERALD_DATABASE="$T/open.db" HERALD_API_TOKEN="$API_SECRET"
hook /api/v1/hooks/github "$GX/octokit-success.json" "${ghh[@]}" -H 'X-GitHub-Delivery: open-1'
is "$STATUS" 403 "0.0.0.0 with a token, no GitHub secret: the GitHub hook answers 403"
like "$(jb .error)" 'HERALD_GITHUB_WEBHOOK_SECRET' "403: names HERALD_GITHUB_WEBHOOK_SECRET"
hook /api/v1/hooks/github "$GX/octokit-success.json" "${ghh[@]}" -H 'X-GitHub-Delivery: open-2' \
	-H "Authorization: Bearer $API_SECRET"
is "$STATUS" 403 "0.0.0.0: 403 even with the bearer token"
hook /api/v1/hooks/flux "$FX/derived-helm-v2-upgrade-failed.json" -H "Authorization: Bearer $API_SECRET"
is "$STATUS" 202 "0.0.0.0: the Flux hook with the token: 202"
stop_herald

# --- no token, key or secret in any log ----------------------------------------------------
leak=$(grep -lF -e "$API_SECRET" -e "${API_SECRET%?}" -e "$FLUX_KEY" -e "$GH_SECRET" \
	"$T"/herald.*.err "$T"/herald.*.out 2>/dev/null)
is "$leak" "" "no token (nor access_token value), HMAC key or secret in herald's logs (debug level)"
[ -n "$leak" ] && grep -hF -e "$API_SECRET" -e "${API_SECRET%?}" $leak | head -5 | sed 's/^/#   /'
like "$(cat "$T"/herald.*.err)" 'path=/api/flux-events ' "the logs do have the Gimlet request, without its query"

# --- Discord ----------------------------------------------------------------------------
ADMIN_TOKEN=
fake_reset
use_discord
export NOTIFICATIONS_DISCORD_GUILD=1180000000000000100 HERALD_DISCORD_GLOBAL_RATE=0
start_herald HERALD_DATABASE="$T/discord.db"
hook /api/v1/hooks/flux "$FX/derived-helm-v2beta1-upgrade-started.json"
is "$STATUS" 202 "discord: flux started: 202"
d1=$(jb '.accepted[0].notification_id')
wait_state "$d1" delivered
ok $? "discord: flux started: delivered"
hook /api/v1/hooks/flux "$FX/flux2-4453-helm-upgrade-succeeded.json"
is "$STATUS" 202 "discord: flux succeeded: 202"
d2=$(jb '.accepted[0].notification_id')
wait_state "$d2" delivered
ok $? "discord: flux succeeded: delivered"
is "$(count discord)" 1 "discord: the HelmRelease story is one message"
is "$(getn "$d2" .message_id)" "$(getn "$d1" .message_id)" "discord: succeeded edits the started message"
is "$(msg discord "$d2" .edited)" true "discord: the message was edited (PATCH)"
like "$(msg discord "$d2" .t)" 'appnamehere.*0\.1\.3\+2.*is live' "discord: the final text says live"
unlike "$(msg discord "$d2" .t)" 'Rolling out' "discord: ... and no longer rolling out"
hook /api/v1/hooks/flux "$FX/flux2-4453-helm-upgrade-succeeded.json"
is "$STATUS $(jb '.accepted[0].duplicate')" "200 true" "discord: the same body again: 200, duplicate"
hook /api/v1/hooks/alertmanager "$T/am-firing.json"
d3=$(jb '.accepted[0].notification_id')
wait_state "$d3" delivered
ok $? "discord: alert firing delivered"
hook /api/v1/hooks/alertmanager "$T/am-resolved.json"
d4=$(jb '.accepted[0].notification_id')
wait_state "$d4" delivered
ok $? "discord: alert resolved delivered"
is "$(count discord)" 2 "discord: firing→resolved is one more message"
is "$(getn "$d4" .message_id)" "$(getn "$d3" .message_id)" "discord: resolved edits the firing message"
like "$(msg discord "$d4" .t)" 'Resolved' "discord: the alert message says resolved"
settle
is "$(count discord)" 2 "discord: nothing else was posted"
stop_herald
is "$HERALD_RC" 0 "discord: exit 0"

no_sanitizer_reports
done_testing
