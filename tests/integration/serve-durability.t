#!/usr/bin/env bash
# Crash safety of `herald serve` (docs/storage.md): kill -9 (twice) in the
# middle of a few thousand events, while they are being accepted and
# delivered, then a restart delivers every accepted event exactly once on Discord (the
# nonce drops the repeat of a post in flight at the crash) and at most once
# more per destination on Slack (only a post in flight can repeat); and a
# 202 means on disk: kill -9 right after the 202s, restart, all delivered.
# The fake slows its first answers down so the kill lands mid-delivery;
# nothing here depends on timing for pass or fail. Needs bash, curl, jq,
# perl.

. "$(dirname "$0")/lib.sh"
# A message per notification, which check_delivery counts: a crash in the
# middle of a digest is serve-digests.t's.
export HERALD_DIGEST_THRESHOLD=0
need_jq

start_fake --quiet --slack-rate 0 --discord-bucket-limit 1000000 --discord-bucket-window 600
export NOTIFICATIONS_DISCORD_GUILD=1180000000000000100
export HERALD_DISCORD_GLOBAL_RATE=0
export HERALD_SLACK_RATE=100 HERALD_SLACK_BURST=1000 HERALD_SLACK_WORKSPACE_RATE=0
export HERALD_LOG_LEVEL=info

# gen PREFIX N BATCH CHANNEL...: writes $T/PREFIX.B.json, batches of BATCH
# message events titled and keyed PREFIX-NNNN, round robin over CHANNELs.
gen() {
	perl -e '
		my ($dir, $p, $n, $b, @ch) = @ARGV;
		for (my $s = 0; $s < $n; $s += $b) {
			open my $f, ">", sprintf("%s/%s.%d.json", $dir, $p, $s / $b) or die;
			my @ev;
			for my $i ($s .. ($s + $b > $n ? $n : $s + $b) - 1) {
				my $k = sprintf "%s-%04d", $p, $i;
				push @ev, qq({"type":"message","title":"$k","id":"$k","channel":"#$ch[$i % @ch]"});
			}
			print $f "[", join(",", @ev), "]";
		}' "$T" "$@"
}

# poster PREFIX NBATCHES PAUSE: posts every batch once, PAUSE seconds apart,
# and writes "B STATUS" per batch to $T/PREFIX.status (000: no answer).
poster() {
	local p=$1 nb=$2 pause=$3 b s
	: >"$T/$p.status"
	for b in $(seq 0 $((nb - 1))); do
		s=$(curl -s -m 60 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
			--data-binary "@$T/$p.$b.json" "$HERALD_URL/api/v1/events" 2>/dev/null)
		echo "$b ${s:-000}" >>"$T/$p.status"
		sleep "$pause"
	done
}

# resend_unaccepted PREFIX: posts again (same ids) every batch not answered
# 202 or 200; prints how many still failed.
resend_unaccepted() {
	local p=$1 b s bad=0
	while read -r b s; do
		case "$s" in 200|202) continue ;; esac
		api POST /api/v1/events "@$T/$p.$b.json"
		case "$STATUS" in
		200|202) ;;
		*) bad=$((bad + 1)); printf '# batch %s again: %s %s\n' "$b" "$STATUS" "$(printf '%s' "$BODY" | head -c 300)" ;;
		esac
	done <"$T/$p.status"
	echo "$bad"
}

# --- Discord: kill -9 while accepting and delivering 3,000 events --------------
use_discord
CH=(deploys staging-deploys production-deploys backend-deploys)
N=3000
gen dur $N 100 "${CH[@]}"
# The first 2,000 posts take 15 ms each: with one post in flight per
# channel, delivery takes seconds, so the kills land in the middle.
fake_fault '{"platform": "discord", "path": "/messages", "delay_ms": 15, "count": 2000}'
start_herald HERALD_DATABASE="$T/discord.db"
poster dur $((N / 100)) 0.2 &
poster_pid=$!
wait_until 60 eval '[ "$(fake_posts)" -ge 600 ]'
at_kill=$(fake_posts)
kill9_herald
is "$HERALD_RC" 137 "Discord: herald killed with SIGKILL"
wait "$poster_pid"
ok $([ "$at_kill" -gt 0 ] && [ "$at_kill" -lt "$N" ]; echo $?) \
	"Discord: killed in the middle of delivery ($at_kill of $N posted)"
echo "# batches answered before the kill: $(grep -cE ' (200|202)$' "$T/dur.status") of $((N / 100))"

start_herald HERALD_DATABASE="$T/discord.db"
pending=$(printf '%s' "$HERALD_START_LINE" | grep -oE 'pending"?[=:]"?[0-9]+' | grep -oE '[0-9]+$')
ok $([ -n "$pending" ] && [ "$pending" -gt 0 ]; echo $?) "Discord: restart reports pending notifications ($pending)"
is "$(resend_unaccepted dur)" 0 "Discord: every unanswered batch accepted when sent again"
# A second crash, with the recovered ones in flight again.
wait_until 60 eval '[ "$(fake_posts)" -ge $((at_kill + 600)) ]'
at_kill2=$(fake_posts)
kill9_herald
ok $([ "$at_kill2" -lt $((N + 10)) ] && [ "$(titles discord dur | sort -u | grep -c .)" -lt "$N" ]; echo $?) \
	"Discord: killed again in the middle of delivery ($at_kill2 posts so far)"
start_herald HERALD_DATABASE="$T/discord.db"
like "$HERALD_START_LINE" 'pending"?[=:]"?[1-9]' "Discord: the second restart reports pending notifications"
wait_until 60 settled
ok $? "Discord: everything settled after the restart"
check_delivery discord dur $N 0
for c in "${CH[@]}"; do
	is "$(curl -fsS "$FAKE_URL/_fake/messages?channel=$c" | jq '[.discord[] | select(tostring | test("dur-[0-9]{4}"))] | length')" \
		$((N / ${#CH[@]})) "Discord: #$c has $((N / ${#CH[@]})) messages"
done
echo "# Discord: $(fake_posts) posts at the fake for $N messages"
stop_herald
is "$HERALD_RC" 0 "Discord: SIGTERM after the run: exit 0"

# --- a 202 means on disk ----------------------------------------------------------
fake_reset
gen acc 1000 250 "${CH[@]}"
# Each channel's first post hangs for 3 s, so nothing much is delivered
# before the kill; what is delivered afterwards came from the database.
fake_fault '{"platform": "discord", "path": "/messages", "delay_ms": 3000, "count": 4}'
start_herald HERALD_DATABASE="$T/accept.db"
acc_ok=0
for b in 0 1 2 3; do
	api POST /api/v1/events "@$T/acc.$b.json"
	[ "$STATUS" = 202 ] && acc_ok=$((acc_ok + 1))
done
kill9_herald
is "$acc_ok" 4 "accepted: four batches of 250 answered 202"
before=$(curl -fsS "$FAKE_URL/_fake/messages" | jq '[.discord[] | select(tostring | test("acc-[0-9]{4}"))] | length')
ok $([ "$before" -lt 1000 ]; echo $?) "accepted: not all delivered before the kill ($before)"
start_herald HERALD_DATABASE="$T/accept.db"
like "$HERALD_START_LINE" 'pending"?[=:]"?[1-9]' "accepted: the restart has pending notifications"
wait_until 60 settled
ok $? "accepted: everything settled after the restart"
check_delivery discord acc 1000 0
stop_herald
is "$HERALD_RC" 0 "accepted: SIGTERM: exit 0"

# --- Slack: kill -9 mid-delivery; only in-flight posts may repeat --------------
fake_reset
use_slack
SCH=(deploys staging-deploys production-deploys)
gen sdur 900 100 "${SCH[@]}"
fake_fault '{"platform": "slack", "path": "chat.postMessage", "delay_ms": 20, "count": 500}'
start_herald HERALD_DATABASE="$T/slack.db"
posts0=$(fake_posts)
poster sdur 9 0.1 &
poster_pid=$!
wait_until 60 eval '[ "$(( $(fake_posts) - posts0 ))" -ge 250 ]'
at_kill=$(( $(fake_posts) - posts0 ))
kill9_herald
wait "$poster_pid"
ok $([ "$at_kill" -gt 0 ] && [ "$at_kill" -lt 900 ]; echo $?) \
	"Slack: killed in the middle of delivery ($at_kill of 900 posted)"
start_herald HERALD_DATABASE="$T/slack.db"
is "$(resend_unaccepted sdur)" 0 "Slack: every unanswered batch accepted when sent again"
wait_until 60 settled
ok $? "Slack: everything settled after the restart"
# One post in flight per channel at the crash: at most that many repeats.
check_delivery slack sdur 900 ${#SCH[@]}
stop_herald
is "$HERALD_RC" 0 "Slack: SIGTERM: exit 0"

no_sanitizer_reports
done_testing
