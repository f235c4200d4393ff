#!/usr/bin/env bash
# The delivery page at / in a real headless browser (Debian's chromium,
# driven over the DevTools protocol by cdp.py): the page loads with no
# console error, exception or CSP violation and shows the seeded
# notifications with their states; the state, app and destination filters
# narrow the rows; a retry of the failed one changes its state in the page
# and in the API; an event whose values are <img src=x onerror=alert(1)>
# shows them as text (no <img>, no dialog); the security headers are set;
# with HERALD_API_TOKEN the page asks for the token, refuses a wrong one
# and works with the right one, kept in session storage. Needs chromium,
# python3, curl and jq; skipped without chromium ($CHROMIUM, if set, names
# the browser to use).

. "$(dirname "$0")/lib.sh"
need_jq

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
if [ -z "$CHROMIUM" ] || ! command -v "$CHROMIUM" >/dev/null 2>&1 ||
   ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP chromium (or python3) is not installed: apt-get install chromium (scripts/install-deps --ci does)"
	exit 0
fi
t_start=$(date +%s)

start_fake --quiet --slack-rate 0
use_slack
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export HERALD_SLACK_RATE=100 HERALD_SLACK_BURST=1000 HERALD_SLACK_WORKSPACE_RATE=0
# A batch of 12 to one channel is a storm (docs/delivery.md, "Digests").
export HERALD_DIGEST_THRESHOLD=5
start_herald

# nstate ID: the state of notification ID, from the API.
nstate() {
	api GET "/api/v1/notifications/$1"
	printf '%s' "$BODY" | jqr .state
}
# state_is ID STATE: whether notification ID is in STATE now.
state_is() { [ "$(nstate "$1")" = "$2" ]; }
# post_event JSON: posts one event; prints its notification ID.
post_event() {
	api POST /api/v1/events "$1"
	printf '%s' "$BODY" | jqr '.accepted[0].notification_id'
}

# --- seed: one failing for good, four delivered, one hostile -------------------
# The fake answers the first post channel_not_found: a permanent failure.
fake_fault '{"platform":"slack","path":"chat.postMessage","error":"channel_not_found","count":1}'
failed_id=$(post_event '{"type":"deploy","status":"succeeded","app":"api","env":"staging","channel":"#staging-deploys","sha":"1111111","id":"page-fail"}')
wait_until 30 state_is "$failed_id" failed
is "$(nstate "$failed_id")" failed "seed: the first notification failed (channel_not_found)"

HOSTILE='<img src=x onerror=alert(1)>'
post_event '{"type":"deploy","status":"succeeded","app":"api","env":"production","channel":"#production-deploys","sha":"2222222","id":"page-api-prod"}' >/dev/null
post_event '{"type":"deploy","status":"failed","app":"web","env":"production","channel":"#production-deploys","sha":"3333333","id":"page-web-prod"}' >/dev/null
post_event '{"type":"deploy","status":"succeeded","app":"web","env":"staging","sha":"4444444","id":"page-web-staging"}' >/dev/null
# An id is printable ASCII without spaces: the same tag with slashes.
HOSTILE_ID='<img/src=x/onerror=alert(1)>'
hostile_ev=$(jq -cn --arg h "$HOSTILE" --arg i "$HOSTILE_ID" '{type:"message", title:$h, description:$h, app:$h, env:"production", channel:"#production-deploys", correlation:$h, id:$i}')
hostile_id=$(post_event "$hostile_ev")
like "$hostile_id" '^[0-9]+$' "seed: the hostile event was accepted"
wait_until 30 settled
ok $? "seed: delivery settled"
api GET '/api/v1/notifications?limit=100'
total=$(printf '%s' "$BODY" | jqr '.notifications | length')
api_states=$(printf '%s' "$BODY" | jq -r '[.notifications[] | "\(.id):\(.state)"] | join(" ")')
is "$total" 5 "seed: five notifications in the API"

# --- the headers, with curl ----------------------------------------------------
for p in / /app.js /app.css /favicon.svg; do
	api GET "$p"
	is "$STATUS" 200 "GET $p: 200"
	like "$HEADERS" "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" \
		"GET $p: Content-Security-Policy"
	like "$HEADERS" 'X-Content-Type-Options: nosniff' "GET $p: X-Content-Type-Options: nosniff"
	like "$HEADERS" 'Referrer-Policy: no-referrer' "GET $p: Referrer-Policy: no-referrer"
	like "$HEADERS" 'Cache-Control: no-cache' "GET $p: Cache-Control: no-cache"
done
api GET /
like "$HEADERS" 'Content-Type: text/html; charset=utf-8' "GET /: text/html"
api GET /app.js
like "$HEADERS" 'Content-Type: text/javascript; charset=utf-8' "GET /app.js: text/javascript"

# --- the browser ---------------------------------------------------------------
coproc CDP { exec python3 "$HERALD_SRC/tests/integration/cdp.py" \
	--chromium "$CHROMIUM" --timeout 30 --log "$T/chromium.log" 2>"$T/cdp.err"; }
_pids+=("$CDP_PID")
CDP_IN=${CDP[1]}
CDP_OUT=${CDP[0]}

# cdp COMMAND...: one command to cdp.py; sets R to its JSON answer.
cdp() {
	printf '%s\n' "$*" >&"$CDP_IN"
	R=
	IFS= read -r -t 120 R <&"$CDP_OUT" ||
		R='{"ok":false,"error":"no answer from cdp.py"}'
}
# cdp_ok COMMAND... DESCRIPTION: one test that the command worked.
cdp_ok() {
	local desc=${*: -1}
	cdp "${@:1:$#-1}"
	if [ "$(printf '%s' "$R" | jqr .ok)" = true ]; then
		ok 0 "$desc"
	else
		ok 1 "$desc"
		printf '#   %s\n' "$(printf '%s' "$R" | jqr .error | head -c 600)"
	fi
}
# val: the value of the last answer: a string as is, else as JSON.
val() { printf '%s' "$R" | jq -r '.value | if . == null then empty elif type == "string" then . else tojson end' 2>/dev/null; }
# no_errors IGNORE-REGEX DESCRIPTION: one test that the browser saw no
# error since the last check, except those matching the regex ("": none).
no_errors() {
	local ignore=$1 errs
	cdp errors
	errs=$(printf '%s' "$R" | jq -r '.value[]' 2>/dev/null)
	[ -n "$ignore" ] && errs=$(printf '%s\n' "$errs" | grep -Ev -- "$ignore")
	errs=$(printf '%s\n' "$errs" | grep -v '^$')
	is "$errs" "" "$2"
}

IFS= read -r -t 60 R <&"$CDP_OUT" || R='{"ok":false,"error":"cdp.py did not start"}'
if [ "$(printf '%s' "$R" | jqr .ok)" != true ]; then
	echo "Bail out! the browser did not start: $(printf '%s' "$R" | jqr .error) $(head -c 1000 "$T/cdp.err" "$T/chromium.log" 2>/dev/null)"
	exit 1
fi
ok 0 "chromium started: $(val)"

ROWS='document.querySelectorAll("#rows tr")'
cdp_ok open "$HERALD_URL/" "the page loads"
cdp_ok wait 30 "$ROWS.length === $total" "the page shows the $total notifications"
cdp eval "Array.from($ROWS).map(r => r.dataset.id + ':' + r.dataset.state).join(' ')"
is "$(val)" "$api_states" "the rows are the API's, newest first, with their states"
cdp eval "document.querySelector('tr[data-id=\"$failed_id\"] .state').textContent"
is "$(val)" failed "the failed notification shows as failed"
cdp eval "Array.from(document.querySelectorAll('button.retry')).map(b => b.dataset.id).join(' ')"
is "$(val)" "$failed_id" "only the failed notification has a retry button"
cdp eval "document.querySelector('tr[data-id=\"$failed_id\"] .last-error').textContent"
like "$(val)" 'channel_not_found' "the failed row shows its last error"
cdp eval "document.querySelector('tr[data-id=\"$failed_id\"] .story').textContent"
is "$(val)" "deploy / api / staging / 1111111" "the story is the correlation key, readable"
cdp wait 30 "document.getElementById('health').className.includes('ok') && document.getElementById('health').textContent"
like "$(val)" '^ready' "the provider's health: ready"
cdp eval "document.styleSheets.length === 1 && getComputedStyle(document.querySelector('th')).position"
is "$(val)" sticky "app.css is applied (not refused by the CSP)"

# --- hostile values are text -----------------------------------------------------
cdp eval "document.querySelector('tr[data-id=\"$hostile_id\"] td.app').textContent"
is "$(val)" "$HOSTILE" "a hostile app name is shown as text"
cdp eval "document.querySelector('tr[data-id=\"$hostile_id\"] .event-id').textContent"
is "$(val)" "$HOSTILE_ID" "a hostile event id is shown as text"
cdp eval "document.querySelector('tr[data-id=\"$hostile_id\"] .story').textContent"
is "$(val)" "c / $HOSTILE" "a hostile correlation is shown as text"
cdp eval "document.querySelectorAll('img').length"
is "$(val)" 0 "no <img> element in the page"
cdp_ok click "tr[data-id=\"$hostile_id\"] button.link" "click the hostile notification's ID"
cdp_ok wait 30 "!document.getElementById('detail').hidden && document.getElementById('detail-fields').textContent.includes('event.title')" \
	"its details open"
cdp eval "Array.from(document.querySelectorAll('#detail dd')).filter(d => d.textContent === '$HOSTILE').length >= 3"
is "$(val)" true "the details show the hostile title, description and app as text"
cdp eval "document.querySelectorAll('img').length + document.querySelectorAll('#detail *:not(h2):not(button):not(dl):not(dt):not(dd)').length"
is "$(val)" 0 "still no <img>, nor any other element made from data"
cdp_ok click '#detail-close' "close the details"

# --- filters -------------------------------------------------------------------
setsel() { cdp eval "(function(){var s=document.getElementById('$1');s.value='$2';s.dispatchEvent(new Event('change'));return s.value;})()"; }
setsel f-state failed
cdp_ok wait 30 "$ROWS.length === 1 && $ROWS[0].dataset.id === '$failed_id'" "state=failed: only the failed notification"
setsel f-state delivered
cdp_ok wait 30 "$ROWS.length === $((total - 1)) && Array.from($ROWS).every(r => r.dataset.state === 'delivered')" \
	"state=delivered: the other $((total - 1))"
setsel f-state ''
cdp_ok wait 30 "$ROWS.length === $total" "state=any: all of them again"
cdp_ok type '#f-app' web "type web into the app filter"
cdp_ok wait 30 "$ROWS.length === 2 && Array.from(document.querySelectorAll('#rows td.app')).every(t => t.textContent === 'web')" \
	"app=web: its two notifications"
cdp_ok type '#f-env' staging "type staging into the env filter"
cdp_ok wait 30 "$ROWS.length === 1 && document.querySelector('#rows td.env').textContent === 'staging'" \
	"app=web, env=staging: one"
cdp type '#f-env' ''
cdp type '#f-app' ''
cdp_ok wait 30 "$ROWS.length === $total" "filters cleared: all of them"
cdp_ok type '#f-destination' production "type production into the destination filter"
cdp_ok wait 30 "$ROWS.length === 3 && Array.from(document.querySelectorAll('#rows td.destination')).every(t => t.textContent === '#production-deploys')" \
	"destination=production: the three sent to #production-deploys"
cdp type '#f-destination' ''
cdp_ok wait 30 "$ROWS.length === $total" "destination filter cleared"
cdp_ok type '#f-app' 'no-such-app' "an app with no notifications"
cdp_ok wait 30 "$ROWS.length === 0 && !document.getElementById('empty').hidden" "no rows, and the page says so"
cdp type '#f-app' ''
cdp_ok wait 30 "$ROWS.length === $total" "all of them again"

# --- retry ---------------------------------------------------------------------
cdp_ok click "button.retry[data-id=\"$failed_id\"]" "click Retry on the failed notification"
cdp_ok wait 30 "document.querySelector('tr[data-id=\"$failed_id\"]').dataset.state !== 'failed'" \
	"the page shows it no longer failed"
cdp_ok wait 30 "!document.getElementById('notice').hidden && document.getElementById('notice').textContent === 'Notification $failed_id is queued again.'" \
	"the page says it was queued again"
wait_until 30 state_is "$failed_id" delivered
is "$(nstate "$failed_id")" delivered "the API: the retried notification was delivered"
api GET "/api/v1/notifications/$failed_id"
is "$(printf '%s' "$BODY" | jqr .attempts)" 1 "the API: attempts reset by the retry (1, the delivery)"
cdp_ok wait 30 "document.querySelector('tr[data-id=\"$failed_id\"]').dataset.state === 'delivered' && !document.querySelector('button.retry')" \
	"the page refreshes by itself: delivered, no retry button left"

# --- a notification that went out in a digest names it ------------------------
storm=$(jq -cn '[range(12) | {type:"message", title:"storm \(.)", channel:"#backend-deploys", id:"page-storm-\(.)"}]')
storm_id=$(post_event "$storm")
digest_of() { api GET "/api/v1/notifications/$1"; printf '%s' "$BODY" | jqr .digest_id; }
wait_until 30 state_is "$storm_id" delivered
like "$(digest_of "$storm_id")" '^[0-9]+$' "seed: a batch of 12 to one channel went out in a digest"
cdp_ok wait 30 "!!document.querySelector('tr[data-id=\"$storm_id\"] button.link')" "its row is listed"
cdp_ok click "tr[data-id=\"$storm_id\"] button.link" "click it"
cdp_ok wait 30 "!document.getElementById('detail').hidden && document.getElementById('detail-fields').textContent.includes('went out in the digest of notification $(digest_of "$storm_id")')" \
	"its details name the digest it went out in"
cdp_ok click '#detail-close' "close the details"
total=$((total + 12))

no_errors '' "no console error, exception, CSP violation or dialog in the page"
cdp eval "console.error('cdp-probe'); 1"
cdp errors
like "$(val)" 'cdp-probe' "(the error collection itself works)"

# --- with a token --------------------------------------------------------------
SECRET=page-token-s3cret
# Away from the page first: its refresh would meet the stopped herald.
cdp_ok open about:blank "leave the page"
cdp errors
stop_herald
start_herald HERALD_API_TOKEN="$SECRET"
cdp_ok open "$HERALD_URL/" "with HERALD_API_TOKEN: the page loads"
cdp_ok wait 30 "!document.getElementById('token-form').hidden" "the page asks for the token"
cdp eval "$ROWS.length"
is "$(val)" 0 "no rows without the token"
cdp_ok type '#token' "wrong-$SECRET" "type a wrong token"
cdp_ok click '#token-use' "submit it"
cdp_ok wait 30 "!document.getElementById('token-form').hidden && document.getElementById('token-why').textContent.includes('refused')" \
	"a wrong token: refused, asked again"
cdp_ok type '#token' "$SECRET" "type the right token"
cdp_ok click '#token-use' "submit it"
cdp_ok wait 30 "document.getElementById('token-form').hidden && $ROWS.length === $total" "the right token: the rows"
cdp eval "sessionStorage.getItem('herald.apiToken')"
is "$(val)" "$SECRET" "the token is kept in session storage"
cdp eval "localStorage.length + document.cookie.length"
is "$(val)" 0 "and nowhere else (no localStorage, no cookie)"
cdp_ok open "$HERALD_URL/" "reload the page"
cdp_ok wait 30 "document.getElementById('token-form').hidden && $ROWS.length === $total" "after a reload: rows without asking again"
# The 401s the browser logs as failed requests are expected here.
no_errors 'status of 401' "with a token: no other console error"
cdp quit

# (One is expected: the seeded failure.)
is "$(cat "$T"/herald.*.err | grep 'level=error' | grep -vc "msg=failed notification=$failed_id ")" 0 \
	"no error in herald's logs but the seeded failure"
no_sanitizer_reports
echo "# the browser tests took $(( $(date +%s) - t_start ))s"
done_testing
