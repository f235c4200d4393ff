#!/usr/bin/env bash
# `herald route --from`: webhook bodies of Flux, Alertmanager and GitHub
# (the fixtures of tests/inputs/, see their SOURCES.md) converted offline as
# herald serve's hooks convert them: the human and JSON outputs, the ignored
# items, --env/--app/--query/--header, HERALD_ALERT_APP_LABELS, and the
# usage and input errors. Needs bash and jq.

. "$(dirname "$0")/lib.sh"

IN="$HERALD_SRC/tests/inputs"
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export NOTIFICATIONS_CHANNEL_MAPPING='staging=#staging-deploys'

# --- Flux -------------------------------------------------------------------
run route --from flux --env staging "$IN/flux/derived-helm-v2-upgrade-failed.json"
is "$RC" 0 "flux: exit 0"
like "$OUT" '^deploy failed app=podinfo env=staging' "flux: a failed HelmRelease upgrade is a failed deploy"
like "$OUT" 'destination: #staging-deploys \(channel\)' "flux: --env routes by the mapping"
like "$OUT" 'event: +\{"type":"deploy","status":"failed"' "flux: the converted event is shown"
like "$OUT" '"id":"flux:[0-9a-f]{64}"' "flux: the id hashes the body"

run route --from flux "$IN/flux/forwarder-test.json"
is "$RC" 0 "flux: an ignored event: exit 0"
like "$OUT" '^ignored:' "flux: the ignored items are listed"
like "$OUT" 'GitRepository' "flux: the reason names the object"

run route --from flux --json "$IN/flux/derived-kustomization-reconciliation-finished.json"
is "$RC" 0 "flux --json: exit 0"
is "$(printf '%s\n' "$OUT" | head -1 | jq -r '.event.status + " " + (.event.edit_only|tostring)')" \
	"applied true" "flux: Reconciliation finished is an edit-only applied"
is "$(printf '%s\n' "$OUT" | head -1 | jq -r '.event.description // "none"')" none \
	"flux: an applied event has no description (its repeats render the same)"

# --- Alertmanager -------------------------------------------------------------
run route --from alertmanager --json "$IN/alertmanager/kubenotifyplus-kubepodcrashlooping.json"
is "$RC" 0 "alertmanager: exit 0"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.event) | .event.type + " " + .event.status' | sort -u)" \
	"alert firing" "alertmanager: firing alerts"
like "$(printf '%s\n' "$OUT" | jq -r 'select(.event) | .event.alert.name' | head -1)" \
	'^KubePodCrashLooping$' "alertmanager: the alert's name"
n=$(jq '.alerts | length' "$IN/alertmanager/msteams-v4-group-page.json")
run route --from alertmanager --json "$IN/alertmanager/msteams-v4-group-page.json"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.event) | .event.type' | grep -c alert)" "$n" \
	"alertmanager: one event per alert"
run route --from alertmanager --query group=true --json "$IN/alertmanager/msteams-v4-group-page.json"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.event) | .event.type' | grep -c alert)" 1 \
	"alertmanager: ?group=true makes one event"
run route --from alertmanager --query min_severity=bogus "$IN/alertmanager/msteams-v4-group-page.json"
is "$RC" 1 "alertmanager: a bad min_severity: exit 1"
like "$ERR" 'min_severity' "alertmanager: the error names the parameter"
HERALD_ALERT_APP_LABELS=namespace run route --from alertmanager --json \
	"$IN/alertmanager/kubenotifyplus-kubepodcrashlooping.json"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.event) | .event.app' | head -1)" \
	"$(jq -r '.alerts[0].labels.namespace' "$IN/alertmanager/kubenotifyplus-kubepodcrashlooping.json")" \
	"alertmanager: HERALD_ALERT_APP_LABELS picks the app's label"

# --- GitHub ---------------------------------------------------------------------
run route --from github --header 'X-GitHub-Event: deployment_status' --json "$IN/github/octokit-success.json"
is "$RC" 0 "github: exit 0"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.event) | .event.type + " " + .event.status')" \
	"deploy succeeded" "github: a success is a succeeded deploy"
run route --from github --header 'X-GitHub-Event: ping' "$IN/github/octokit-ping.json"
is "$RC" 0 "github ping: exit 0"
like "$OUT" 'ping' "github ping: ignored with a reason"
run route --from github --app web --json "$IN/github/octokit-success.json"
is "$(printf '%s\n' "$OUT" | jq -r 'select(.event) | .event.app')" web "github: --app is ?app="

# --- errors -------------------------------------------------------------------
run route --from kafka "$IN/github/octokit-success.json"
is "$RC" 2 "an unknown source: exit 2"
like "$ERR" 'expected flux, alertmanager or github' "an unknown source: says which there are"
run route --env staging "$IN/github/octokit-success.json"
is "$RC" 2 "--env without --from: exit 2"
printf 'not json' >"$T/bad.json"
run route --from flux "$T/bad.json"
is "$RC" 1 "not JSON: exit 1"
like "$ERR" "bad.json: " "not JSON: the error names the file"
run route --from alertmanager "$IN/github/octokit-success.json"
is "$RC" 1 "another source's payload: exit 1"
run route --from github --query 'novalue' "$IN/github/octokit-success.json"
is "$RC" 2 "a --query without =: exit 2"

done_testing
