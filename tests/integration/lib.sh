# Shared helpers for the integration tests: TAP output, the fake platforms and
# `herald serve` (start, stop, kill, API requests, delivery checks).
#
# Source it from a tests/integration/*.t bash script. It expects (set by
# tests/run): HERALD (the herald binary), HERALD_FAKE (the herald-fake
# binary), HERALD_SRC (the source tree). Each test gets a scratch directory
# $T, removed at exit along with every process started by start_fake or
# start_herald. Set KEEP_T=1 to keep $T for a look after a failure.

set -u
: "${HERALD_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${HERALD:=$HERALD_SRC/build/herald}"
: "${HERALD_FAKE:=$HERALD_SRC/build/tests/fake/herald-fake}"
T=$(mktemp -d "${TMPDIR:-/tmp}/herald-test.XXXXXX")
_pids=()

_cleanup() {
	local p i alive
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	# A process that ignores SIGTERM gets SIGKILL after 15 s.
	for i in $(seq 1 150); do
		alive=0
		for p in "${_pids[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ "$alive" -eq 0 ] && break
		sleep 0.1
	done
	for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${_pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP_T:-}" ] && echo "# kept $T" || rm -rf "$T"
}
trap _cleanup EXIT

# Clear every herald and platform variable the caller's environment has.
for v in $(env | sed -n 's/^\(NOTIFICATIONS_[A-Z_]*\|HERALD_[A-Z_]*\)=.*/\1/p'); do
	case "$v" in HERALD_SRC|HERALD|HERALD_FAKE) ;; *) unset "$v" ;; esac
done

# ok, is, like, unlike, done_testing
. "$HERALD_SRC/tests/integration/tap.sh"

# pj CODE: runs the Perl expression CODE on the JSON on stdin ($d) and
# prints the result ("null" for undef).
pj() {
	perl -MJSON::PP -0777 -e 'my $d = JSON::PP->new->allow_nonref->decode(<STDIN>);
		my $r = eval $ARGV[0]; die $@ if $@; print defined $r ? $r : "null"' "$1"
}

# What the fake stored and received (optionally for one channel / path).
messages() { curl -fsS "$FAKE_URL/_fake/messages${1:+?channel=$1}"; }
requests() { curl -fsS "$FAKE_URL/_fake/requests${1:+?path=$1}"; }
slack_count() { messages "${1:-}" | pj 'scalar @{$d->{slack}}'; }
discord_count() { messages "${1:-}" | pj 'scalar @{$d->{discord}}'; }

# run ARGS...: runs herald with ARGS; sets OUT, ERR, RC.
run() {
	"$HERALD" "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# start_fake [ARGS...]: starts herald-fake on a free loopback port and sets
# FAKE_URL, SLACK_URL, DISCORD_URL, FAKE_RECORD (its request log).
start_fake() {
	local portfile="$T/fake.port.$RANDOM"
	FAKE_RECORD="$T/fake-requests.jsonl"
	"$HERALD_FAKE" --listen 127.0.0.1:0 --port-file "$portfile" \
		--record "$FAKE_RECORD" "$@" >"$T/fake.log" 2>&1 &
	_pids+=($!)
	for _ in $(seq 1 200); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	if [ ! -s "$portfile" ]; then
		echo "Bail out! herald-fake did not start: $(cat "$T/fake.log")"
		exit 1
	fi
	FAKE_URL="http://127.0.0.1:$(cat "$portfile")"
	SLACK_URL="$FAKE_URL/slack/api"
	DISCORD_URL="$FAKE_URL/discord/api/v10"
}

# fake_fault JSON: injects a fault into the running fake.
fake_fault() {
	curl -fsS -m 5 -X POST -H 'Content-Type: application/json' \
		--data "$1" "$FAKE_URL/_fake/fault" >/dev/null
}

fake_reset() {
	curl -fsS -m 5 -X POST "$FAKE_URL/_fake/reset" >/dev/null
}

# use_slack / use_discord: point herald at the fake with its default token.
use_slack() {
	export NOTIFICATIONS_PROVIDER=slack
	export NOTIFICATIONS_TOKEN=xoxb-test-token
	export HERALD_SLACK_API_URL="$SLACK_URL"
}

use_discord() {
	export NOTIFICATIONS_PROVIDER=discord
	export NOTIFICATIONS_TOKEN=discord-test-token
	export HERALD_DISCORD_API_URL="$DISCORD_URL"
}

# --- herald serve -------------------------------------------------------------

# need_jq: the serve-*.t tests read JSON with jq; bail out without it.
need_jq() {
	command -v jq >/dev/null 2>&1 ||
		{ echo "Bail out! jq is not installed (apt-get install jq)"; exit 1; }
}
#
# start_herald [VAR=VALUE...]: starts `$HERALD serve` in the background with
# HERALD_LISTEN=127.0.0.1:0 and HERALD_DATABASE=$T/herald.db (both may be
# overridden by the arguments, which are added to the environment), waits
# until the startup line names the port and GET /healthz answers, and sets:
#   HERALD_PID   its pid (killed at exit if still running)
#   HERALD_URL   http://127.0.0.1:PORT
#   HERALD_ERR   the file its stderr goes to (the log), one per start
#   HERALD_OUT   the file its stdout goes to
#   HERALD_PORT  its port
#   HERALD_START_LINE  the startup log line ("" when the log level hides it)
# With HERALD_LOG_LEVEL=warn or error (which hide the start-up line) a free
# port is picked instead of 0. Bails out when it does not come up within 30 s. Do not call it in a
# subshell ($(...)): the pid must be a child of the test's shell.
_herald_n=0
HERALD_PID=
HERALD_PORT=
start_herald() {
	if ! _herald_spawn "$@"; then
		echo "Bail out! herald serve did not come up within 30 s: $(head -c 2000 "$HERALD_ERR")"
		exit 1
	fi
}

# try_start_herald [VAR=VALUE...]: like start_herald but returns 1 instead of
# bailing out (the process may then have exited; see HERALD_ERR).
try_start_herald() {
	_herald_spawn "$@"
}

# The port herald reports in its start-up line (at level info). When the
# caller asks for a level that hides that line, or names a port itself,
# the port is known in advance (a free one is picked for the former).
_herald_spawn() {
	local a level=${HERALD_LOG_LEVEL:-info} listen=127.0.0.1:0
	for a in "$@"; do
		case "$a" in
		HERALD_LOG_LEVEL=*) level=${a#*=} ;;
		HERALD_LISTEN=*) listen=${a#*=} ;;
		esac
	done
	HERALD_PORT=
	case "$listen" in *:0) ;; *:*) HERALD_PORT=${listen##*:} ;; esac
	case "$level" in
	warn|error|WARN|ERROR)
		if [ -z "$HERALD_PORT" ]; then
			HERALD_PORT=$(free_port)
			listen="${listen%:*}:$HERALD_PORT"
		fi ;;
	esac
	_herald_n=$((_herald_n + 1))
	HERALD_ERR="$T/herald.$_herald_n.err"
	HERALD_OUT="$T/herald.$_herald_n.out"
	env HERALD_DATABASE="$T/herald.db" "$@" HERALD_LISTEN="$listen" \
		"$HERALD" serve >"$HERALD_OUT" 2>"$HERALD_ERR" </dev/null &
	HERALD_PID=$!
	_pids+=("$HERALD_PID")
	wait_herald_up
}

# free_port: a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
	perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1,
		LocalAddr => "127.0.0.1:0", ReuseAddr => 1) or die; print $s->sockport'
}

# The port from the startup line: listen=HOST:PORT (logfmt) or
# "listen":"HOST:PORT" (json), port not 0.
_herald_port() {
	grep -m1 -oE 'listen"?[=:]"?[^" ,}]*:[0-9]+' "$HERALD_ERR" 2>/dev/null |
		grep -oE '[0-9]+$' | grep -v '^0$'
}

wait_herald_up() {
	local port="" i
	HERALD_URL=
	HERALD_START_LINE=
	for i in $(seq 1 300); do
		kill -0 "$HERALD_PID" 2>/dev/null || return 1
		[ -n "$port" ] || port=${HERALD_PORT:-$(_herald_port)}
		if [ -n "$port" ] &&
		   curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
			HERALD_URL="http://127.0.0.1:$port"
			HERALD_START_LINE=$(grep -m1 -E 'listen"?[=:]' "$HERALD_ERR")
			HERALD_PORT=$port
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# wait_exit PID SECONDS: waits for PID (a child of this shell: do not call
# it in $(...)) to exit and sets EXIT_RC to its exit status, or to
# "timeout" when it was still running after SECONDS (it is then killed).
wait_exit() {
	local pid=$1 limit=$2 i
	for i in $(seq 1 $((limit * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		EXIT_RC=timeout
		return
	fi
	wait "$pid" 2>/dev/null
	EXIT_RC=$?
}

# stop_herald [SECONDS]: SIGTERM, then waits up to SECONDS (default 30);
# returns herald's exit status (137 when it had to be killed) and sets
# HERALD_RC to it ("timeout" when it had to be killed).
stop_herald() {
	kill -TERM "$HERALD_PID" 2>/dev/null
	_herald_reap "${1:-30}" 2>/dev/null
}

# wait_herald [SECONDS]: waits for herald to exit after a signal the test
# sent itself (default 30 s, then SIGKILL); sets HERALD_RC like stop_herald.
wait_herald() {
	_herald_reap "${1:-30}" 2>/dev/null
}

# kill9_herald: SIGKILL and reap.
kill9_herald() {
	kill -9 "$HERALD_PID" 2>/dev/null
	# (2>/dev/null also keeps bash's "Killed" job notice out of the output)
	_herald_reap 30 2>/dev/null
}

_herald_reap() {
	local limit=$1 i
	for i in $(seq 1 $((limit * 10))); do
		kill -0 "$HERALD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$HERALD_PID" 2>/dev/null; then
		kill -9 "$HERALD_PID" 2>/dev/null
		wait "$HERALD_PID" 2>/dev/null
		HERALD_RC=timeout
		return 137
	fi
	wait "$HERALD_PID" 2>/dev/null
	HERALD_RC=$?
	return "$HERALD_RC"
}

# api METHOD PATH [BODY] [CURL-ARGS...]: one request to the running herald.
# BODY is sent as is (@FILE reads a file; "" sends none, so that CURL-ARGS
# can follow: api GET /healthz '' -I); Content-Type is $API_CT
# (default application/json) and, when $API_TOKEN is set, the request
# carries "Authorization: Bearer $API_TOKEN". Sets STATUS (000 when the
# connection failed), BODY and HEADERS (the response headers, CRs removed).
api() {
	local m=$1 p=$2 data=()
	shift 2
	if [ $# -gt 0 ]; then
		[ -n "$1" ] && data=(--data-binary "$1")
		shift
	fi
	local auth=()
	[ -n "${API_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $API_TOKEN")
	STATUS=$(curl -sS -m 60 -X "$m" -o "$T/api.body" -D "$T/api.headers" \
		-w '%{http_code}' -H "Content-Type: ${API_CT:-application/json}" \
		"${auth[@]}" "${data[@]}" "$@" "$HERALD_URL$p" 2>"$T/api.curlerr")
	[ -n "$STATUS" ] || STATUS=000
	BODY=$(cat "$T/api.body" 2>/dev/null)
	HEADERS=$(tr -d '\r' <"$T/api.headers" 2>/dev/null)
	rm -f "$T/api.body" "$T/api.headers"
}

# api_get PATH / api_post PATH BODY: shorthands.
api_get() { api GET "$@"; }
api_post() { api POST "$@"; }

# jqr FILTER: runs jq -r FILTER on stdin; prints "ERROR" when it is not JSON.
jqr() { jq -r "$@" 2>/dev/null || echo ERROR; }

# wait_until SECONDS COMMAND...: polls COMMAND every 0.2 s until it
# succeeds; returns 1 after SECONDS.
wait_until() {
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 5))); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# metric NAME-WITH-LABELS: the value of one sample on /metrics ("" if none).
# The argument is matched literally at the start of a line, e.g.
# 'herald_notifications_total{provider="slack",state="delivered"}'; label
# order must be as herald writes it, so prefer metric_sum.
metric() {
	curl -sS -m 10 "$HERALD_URL/metrics" | awk -v k="$1" 'index($0, k " ") == 1 { print $2; exit }'
}

# metric_sum NAME [LABEL=VALUE...]: the sum of the samples of NAME whose
# labels include every LABEL="VALUE" given (0 when none).
metric_sum() {
	local name=$1
	shift
	curl -sS -m 10 "$HERALD_URL/metrics" | perl -e '
		my ($name, @want) = @ARGV; my $sum = 0;
		while (<STDIN>) {
			next if /^#/;
			next unless /^\Q$name\E(\{([^}]*)\})?\s+(\S+)/;
			my ($labels, $v) = ($2 // "", $3); my $okay = 1;
			for my $w (@want) {
				my ($k, $val) = split /=/, $w, 2;
				$okay = 0 unless $labels =~ /(^|,)\Q$k\E="\Q$val\E"/;
			}
			$sum += $v if $okay;
		}
		print $sum + 0, "\n";' "$name" "$@"
}

# no_sanitizer_reports: one test that no herald log has an ASan, LSan or
# UBSan report.
no_sanitizer_reports() {
	local hits
	hits=$(grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer' \
		"$T"/herald.*.err 2>/dev/null)
	if [ -z "$hits" ]; then
		ok 0 "no sanitizer report in any herald log"
	else
		ok 1 "no sanitizer report in any herald log"
		grep -hE -A12 'AddressSanitizer|LeakSanitizer|runtime error:' $hits |
			head -40 | sed 's/^/#   /'
	fi
}

# --- checking delivery --------------------------------------------------------

# settled: herald's delivery log has nothing queued, sending or retrying.
settled() {
	local s
	for s in queued sending retrying; do
		api GET "/api/v1/notifications?state=$s&limit=1"
		[ "$STATUS" = 200 ] || return 1
		[ "$(printf '%s' "$BODY" | jqr '.notifications | length')" = 0 ] || return 1
	done
}

# log_states: every notification in the log as "EVENT-ID STATE" lines.
log_states() {
	local before="" nb
	while :; do
		api GET "/api/v1/notifications?limit=1000$before"
		[ "$STATUS" = 200 ] || { echo "ERROR $STATUS"; return; }
		printf '%s' "$BODY" | jq -r '.notifications[] | "\(.event.id) \(.state)"'
		nb=$(printf '%s' "$BODY" | jqr .next_before)
		[ "$nb" = null ] && return
		before="&before=$nb"
	done
}

# log_ids: every notification in the log as "EVENT-ID ID" lines.
log_ids() {
	local before="" nb
	while :; do
		api GET "/api/v1/notifications?limit=1000$before"
		[ "$STATUS" = 200 ] || { echo "ERROR $STATUS"; return; }
		printf '%s' "$BODY" | jq -r '.notifications[] | "\(.event.id) \(.id)"'
		nb=$(printf '%s' "$BODY" | jqr .next_before)
		[ "$nb" = null ] && return
		before="&before=$nb"
	done
}

# order_breaks PLATFORM PREFIX: per channel, walks the fake's messages
# holding PREFIX-NNNN in the order the platform created them (Slack ts,
# Discord snowflake) and prints how many times the notification id (from
# the API, by event id) went down (0 when each destination kept its order)
# and how many messages it looked at.
order_breaks() {
	log_ids >"$T/order.ids"
	curl -fsS "$FAKE_URL/_fake/messages" |
		jq -r --arg p "$2" ".$1[] | [(.channel // .channel_id), (.ts // .id),
			([tostring | match(\$p + \"-[0-9]{4}\").string][0] // \"\")] | @tsv" |
		perl -e '
			open my $f, "<", $ARGV[0] or die; my %nid;
			while (<$f>) { my ($e, $n) = split; $nid{$e} = $n; }
			my %by;
			while (<STDIN>) { chomp; my ($c, $t, $e) = split /\t/;
				push @{$by{$c}}, [$t, $nid{$e}] if $e ne "" && defined $nid{$e}; }
			my ($breaks, $seen) = (0, 0);
			for my $c (keys %by) {
				$seen += @{$by{$c}};
				my @m = sort { length($a->[0]) <=> length($b->[0]) or $a->[0] cmp $b->[0] } @{$by{$c}};
				for my $i (1 .. $#m) {
					if ($m[$i][1] < $m[$i - 1][1]) {
						$breaks++;
						print STDERR "#   $c: notification $m[$i][1] after $m[$i-1][1]\n" if $breaks <= 5;
					}
				}
			}
			print "$breaks $seen\n";' "$T/order.ids"
}

# titles PLATFORM PREFIX: the PREFIX-NNNN found in each message the fake
# stored for PLATFORM (slack or discord), one a line.
titles() {
	curl -fsS "$FAKE_URL/_fake/messages" |
		jq -r --arg p "$2" ".$1[] | [tostring | match(\$p + \"-[0-9]{4}\").string][0] // empty"
}

# fake_posts: how many POST requests the fake has answered so far (from its
# --record file, which fake_reset does not truncate).
fake_posts() {
	local n
	n=$(grep -c '"method": *"POST"' "$FAKE_RECORD" 2>/dev/null)
	echo "${n:-0}"
}

# check_delivery PLATFORM PREFIX N MAXDUPS: five tests that the API and the
# fake agree that events PREFIX-0000 … PREFIX-(N-1) (ids and titles) were
# each delivered, with at most MAXDUPS repeated messages, in the order they
# were accepted within each channel.
check_delivery() {
	local pl=$1 p=$2 n=$3 maxdup=$4 st tl missing dups
	st=$(log_states | grep "^$p-")
	is "$(printf '%s\n' "$st" | grep -c " delivered$")" "$n" "$pl: the API lists all $n as delivered"
	is "$(printf '%s\n' "$st" | grep -c .) $(printf '%s\n' "$st" | awk '{print $1}' | sort -u | grep -c .)" \
		"$n $n" "$pl: one notification per event ($n), none twice"
	tl=$(titles "$pl" "$p")
	is "$(printf '%s\n' "$tl" | sort -u | grep -c .)" "$n" "$pl: all $n events are messages at the fake"
	missing=$(comm -23 <(seq -f "$p-%04g" 0 $((n - 1)) | sort) <(printf '%s\n' "$tl" | sort -u) | head -5)
	[ -n "$missing" ] && printf '#   missing, e.g.: %s\n' $missing
	dups=$(( $(printf '%s\n' "$tl" | grep -c .) - $(printf '%s\n' "$tl" | sort -u | grep -c .) ))
	if [ "$maxdup" -eq 0 ]; then
		is "$dups" 0 "$pl: no message twice"
	else
		ok $([ "$dups" -le "$maxdup" ]; echo $?) "$pl: at most $maxdup repeated messages (got $dups)"
	fi
	[ "$dups" -gt 0 ] && printf '#   repeated: %s\n' "$(printf '%s\n' "$tl" | sort | uniq -d | head -5 | tr '\n' ' ')"
	is "$(order_breaks "$pl" "$p")" "0 $(printf '%s\n' "$tl" | grep -c .)" \
		"$pl: each channel's messages in the order accepted (breaks, messages)"
}
