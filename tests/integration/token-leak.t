#!/usr/bin/env bash
# The platform token never leaks: herald send, check, route and config run
# with a distinctive token under many failure modes (success, platform
# errors, a rejected token, 5xx, dropped connections, timeouts, nobody
# listening, refused URLs, bad configuration, debug logging), for Slack and
# Discord, and the token must never appear on stdout or stderr. The fake's
# request log must show it in the Authorization header and nowhere else.
# Needs bash, curl, perl.

. "$(dirname "$0")/lib.sh"

SLACK_SECRET=xoxb-4242-LEAKCHECK-s3cr3t-9f8e7d6c5b4a
DISCORD_SECRET=MTE4LEAKCHECK.discord-s3cr3t.Zz9Yy8Xx7Ww6
WRONG_SECRET=xoxb-4242-LEAKCHECK-wrong-0a1b2c3d4e
cat >"$T/state.json" <<EOF
{"slack": {"token": "$SLACK_SECRET"}, "discord": {"token": "$DISCORD_SECRET"}}
EOF
start_fake --slack-rate 0 --quiet --state "$T/state.json"

cat >"$T/catalog.yaml" <<'EOF'
services:
  - name: api
    ownerIm: "@jane"
  - name: web
    ownerIm: "@nobody"
EOF
cat >"$T/events.json" <<'EOF'
[{"type": "deploy", "status": "succeeded", "app": "api", "env": "production"},
 {"type": "message", "title": "to a channel", "channel": "#deploys"},
 {"type": "message", "title": "to a missing channel", "channel": "#nope"}]
EOF

# leak_check NAME SECRET... -- ARGS...: runs herald ARGS and checks that no
# SECRET appears in what it printed.
leak_check() {
	local name=$1 leaked=0 s
	local secrets=()
	shift
	while [ "$1" != "--" ]; do
		secrets+=("$1")
		shift
	done
	shift
	"$HERALD" "$@" >"$T/out" 2>"$T/err" </dev/null
	for s in "${secrets[@]}"; do
		if grep -qF -- "$s" "$T/out" "$T/err"; then
			leaked=1
			printf '# leaked in: %s\n' "$(grep -F -- "$s" "$T/out" "$T/err" | head -c 300)"
		fi
	done
	ok "$leaked" "$name: no token in the output"
}

# For each platform, every command in every mode.
run_all() {
	local p=$1 secret=$2 path=$3 fault_path=$4
	local S=("$secret" "$WRONG_SECRET" --)

	leak_check "$p: send, delivered" "${S[@]}" send --type message --title hi
	leak_check "$p: send a batch with failures" "${S[@]}" send "$T/events.json"
	leak_check "$p: send --json with failures" "${S[@]}" send --json "$T/events.json"
	leak_check "$p: check" "${S[@]}" check
	leak_check "$p: check --send-test --json" "${S[@]}" check --send-test --json
	leak_check "$p: route" "${S[@]}" route "$T/events.json"
	leak_check "$p: config" "${S[@]}" config
	leak_check "$p: config --json" "${S[@]}" config --json
	HERALD_LOG_LEVEL=debug leak_check "$p: send, debug logging" "${S[@]}" \
		send --type message --title debug

	fake_fault "{\"platform\":\"$p\",\"path\":\"$fault_path\",\"status\":500,\"count\":2}"
	leak_check "$p: send after 5xx" "${S[@]}" send --type message --title 5xx
	fake_fault "{\"platform\":\"$p\",\"path\":\"$fault_path\",\"drop\":true}"
	leak_check "$p: send after a dropped connection" "${S[@]}" send --type message --title drop
	fake_fault "{\"platform\":\"$p\",\"path\":\"$fault_path\",\"status\":429,\"retry_after\":600}"
	leak_check "$p: send, rate-limited past the timeout" "${S[@]}" \
		send --timeout 2 --type message --title 429
	fake_fault "{\"platform\":\"$p\",\"drop\":true,\"delay_ms\":3000,\"count\":20}"
	HERALD_REQUEST_TIMEOUT=1 leak_check "$p: send, timing out" "${S[@]}" \
		send --timeout 2 --type message --title slow
	fake_reset

	NOTIFICATIONS_TOKEN=$WRONG_SECRET leak_check "$p: send, token rejected" \
		"${S[@]}" send --type message --title wrong
	NOTIFICATIONS_TOKEN=$WRONG_SECRET leak_check "$p: check, token rejected" \
		"${S[@]}" check --json
	NOTIFICATIONS_TOKEN=$WRONG_SECRET HERALD_LOG_LEVEL=debug leak_check \
		"$p: config, debug logging" "${S[@]}" config
	local api_url=${!path}
	export "$path=http://127.0.0.1:$CLOSED_PORT/api"
	leak_check "$p: send, nobody listening" "${S[@]}" \
		send --timeout 1 --type message --title closed
	leak_check "$p: check, nobody listening" "${S[@]}" check
	export "$path=http://chat.example.com/api"
	leak_check "$p: send, plain http refused" "${S[@]}" \
		send --type message --title insecure
	export "$path=$api_url"
	NOTIFICATIONS_CHANNEL_MAPPING='x' leak_check "$p: send, bad configuration" \
		"${S[@]}" send --type message --title badconfig
	NOTIFICATIONS_CHANNEL_MAPPING='x' leak_check "$p: config, bad configuration" \
		"${S[@]}" config
	NOTIFICATIONS_CHANNEL_MAPPING='x' leak_check "$p: check, bad configuration" \
		"${S[@]}" check
}

# A loopback port nobody listens on: one a short-lived socket just had.
CLOSED_PORT=$(perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0") or die;
	print $s->sockport')

export NOTIFICATIONS_PROVIDER=slack
export NOTIFICATIONS_TOKEN=$SLACK_SECRET
export HERALD_SLACK_API_URL=$SLACK_URL
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
export HERALD_CATALOG="$T/catalog.yaml"
run_all slack "$SLACK_SECRET" HERALD_SLACK_API_URL chat.postMessage

export NOTIFICATIONS_PROVIDER=discord
export NOTIFICATIONS_TOKEN=$DISCORD_SECRET
export NOTIFICATIONS_DISCORD_GUILD=1180000000000000100
export HERALD_DISCORD_API_URL=$DISCORD_URL
run_all discord "$DISCORD_SECRET" HERALD_DISCORD_API_URL /messages

# The fake saw the tokens in the Authorization header only. Its --record
# file has every request, including those before a reset.
outside=$(perl -MJSON::PP -e '
	my ($file, @secrets) = @ARGV;
	open my $fh, "<", $file or die "$file: $!";
	my $n = 0;
	while (my $line = <$fh>) {
		my $r = decode_json($line);
		delete $r->{headers}{authorization};
		my $text = JSON::PP->new->canonical->encode($r);
		$n += grep { index($text, $_) >= 0 } @secrets;
	}
	print $n' "$FAKE_RECORD" "$SLACK_SECRET" "$DISCORD_SECRET" "$WRONG_SECRET")
is "$outside" 0 "the fake saw the tokens only in the Authorization header"
auth=$(perl -MJSON::PP -ne '
	$n++ if (decode_json($_)->{headers}{authorization} // "") =~ /LEAKCHECK/;
	END { print $n // 0 }' "$FAKE_RECORD")
like "$auth" '^[1-9]' "the requests did carry the tokens"

done_testing
