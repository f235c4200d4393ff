#!/bin/bash
# herald serve: digests under a storm (docs/delivery.md, "Digests"), against
# herald-fake with its real per-channel limits. 300 rollouts into one Slack
# channel reach it as at most 10 messages within 60 s, with no 429 and
# nothing lost; a Discord storm; edits of messages already posted are never
# folded into a digest; a calm channel gets a message per notification; a
# kill -9 in the middle of a storm loses nothing.
. "$(dirname "$0")/lib.sh"
need_jq

# events PREFIX STATUS FROM TO [CHANNEL]: a JSON array of deploy events for
# apps PREFIX-FROM … PREFIX-TO (4 digits), one story each.
events() {
	perl -e 'my ($p, $s, $a, $b, $c) = @ARGV; my @e;
		for my $i ($a .. $b) {
			push @e, sprintf("{\"type\":\"deploy\",\"status\":\"%s\",\"app\":\"%s-%04d\",\"env\":\"production\",\"sha\":\"%040d\"%s}",
				$s, $p, $i, $i, $c ? ",\"channel\":\"$c\"" : "");
		}
		print "[", join(",", @e), "]";' "$@"
}

send() {	# send JSON: accepts a batch, or fails the test run
	api POST /api/v1/events "$1"
	[ "$STATUS" = 202 ] || { echo "Bail out! POST /api/v1/events: $STATUS $BODY"; exit 1; }
}

# count_state STATE: notifications in STATE (up to 1,000 per page, all pages).
count_state() {
	log_states | grep -c " $1\$"
}

# posts_ok / posts_429: chat.postMessage calls the fake answered ok / 429.
posts_ok() {
	requests chat.postMessage | jq '[.[] | select(.status == 200 and (.response.ok // true))] | length'
}
slack_429() {
	requests | jq '[.[] | select(.status == 429 or ((.response | type) == "object" and .response.error == "ratelimited"))] | length'
}
discord_429() { slack_429; }

# missing_apps PLATFORM PREFIX N: the apps PREFIX-0000 … of N that no
# message the fake holds shows, one a line.
missing_apps() {
	messages | jq -r ".$1[] | tostring" >"$T/texts"
	perl -e 'my ($f, $p, $n) = @ARGV; open my $h, "<", $f or die;
		local $/; my $t = <$h>;
		for my $i (0 .. $n - 1) { my $a = sprintf("%s-%04d", $p, $i);
			print "$a\n" unless index($t, $a) >= 0; }' "$T/texts" "$2" "$3"
}

# not_live PLATFORM PREFIX N: apps whose latest line does not say it is live.
not_live() {
	messages | jq -r ".$1[] | tostring" >"$T/texts"
	perl -e 'my ($f, $p, $n) = @ARGV; open my $h, "<", $f or die;
		local $/; my $t = <$h>; my $bad = 0;
		for my $i (0 .. $n - 1) { my $a = sprintf("%s-%04d", $p, $i);
			$bad++ unless $t =~ /\Q$a\E[^\\\n]{0,200}is live/; }
		print "$bad\n";' "$T/texts" "$2" "$3"
}

# ---- Slack: 300 rollouts into one channel ---------------------------------
start_fake --slack-rate 1
use_slack
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
start_herald
t0=$(date +%s.%N)
send "$(events app started 0 299)"
send "$(events app succeeded 0 299)"
wait_until 120 settled
ok $? "slack storm: every notification settled"
t1=$(date +%s.%N)
wait_until 30 test "$(not_live slack app 300)" = 0
t2=$(date +%s.%N)
secs=$(perl -e 'printf "%.1f", $ARGV[1] - $ARGV[0]' "$t0" "$t2")
posted=$(posts_ok)
echo "# slack storm: 600 notifications (300 rollouts) -> $posted messages," \
	"$(requests chat.update | jq length) edits, final in $secs s," \
	"$(slack_429) answers 429"
ok "$(perl -e 'print $ARGV[0] <= 10 ? 0 : 1' "$posted")" \
	"slack storm: at most 10 messages posted (got $posted)"
ok "$(perl -e 'print $ARGV[0] <= 60 ? 0 : 1' "$secs")" \
	"slack storm: the channel shows all 300 live within 60 s (took $secs s)"
is "$(slack_429)" 0 "slack storm: the fake answered no 429"
is "$(count_state delivered)" 600 "slack storm: all 600 notifications delivered"
is "$(missing_apps slack app 300 | head -5 | tr '\n' ' ')" "" \
	"slack storm: every app is visible in the channel"
is "$(not_live slack app 300)" 0 "slack storm: every app's line shows it live"
digests=$(metric_sum herald_digests_total provider=slack)
ok "$(perl -e 'print $ARGV[0] >= 2 ? 0 : 1' "$digests")" \
	"slack storm: herald_digests_total counts the digests ($digests)"
in_digests=$(metric_sum herald_digest_notifications_total provider=slack)
ok "$(perl -e 'print $ARGV[0] >= 500 ? 0 : 1' "$in_digests")" \
	"slack storm: herald_digest_notifications_total counts their notifications ($in_digests)"
api GET "/api/v1/notifications?limit=1"
did=$(printf '%s' "$BODY" | jqr '.notifications[0].digest_id')
mid=$(printf '%s' "$BODY" | jqr '.notifications[0].message_id')
ok "$(test "$did" != null && test "$did" != ERROR; echo $?)" \
	"slack storm: the delivery log shows the digest a notification went out in ($did)"
ok "$(messages | jq --arg ts "$mid" '[.slack[] | select(.ts == $ts)] | length == 1' | grep -q true; echo $?)" \
	"slack storm: its message_id is the digest's message"
stop_herald

# ---- a calm channel: one message per notification --------------------------
start_fake --slack-rate 1
use_slack
rm -f "$T/herald.db"*
start_herald
send "$(events calm started 0 4)"
wait_until 60 settled
ok $? "calm: settled"
is "$(posts_ok)" 5 "calm: 5 notifications (under the threshold) are 5 messages"
is "$(metric_sum herald_digests_total)" 0 "calm: no digest"
stop_herald

# ---- edits are never folded into a digest ----------------------------------
start_fake --slack-rate 1
use_slack
rm -f "$T/herald.db"*
start_herald
send "$(events own started 0 2)"
wait_until 60 settled
ok $? "edits: three stories posted, each its own message"
send "$(events own succeeded 0 2)$(true)"
send "$(events storm started 0 29)"
wait_until 90 settled
ok $? "edits: settled"
own=$(messages | jq '[.slack[] | select(tostring | test("own-000[0-2]"))] | length')
is "$own" 3 "edits: the three stories are still three messages of their own"
is "$(messages | jq '[.slack[] | select((tostring | test("own-000[0-2]")) and (tostring | test("is live")) and .edited != null)] | length')" 3 \
	"edits: each was edited in place to live"
is "$(messages | jq '[.slack[] | select((tostring | test("own-000")) and (tostring | test("storm-")))] | length')" 0 \
	"edits: no digest lists them"
is "$(requests chat.update | jq '[.[] | select(.status == 200)] | length')" 3 \
	"edits: three chat.update calls, one per edit"
is "$(missing_apps slack storm 30 | wc -l)" 0 "edits: the storm's 30 apps are all visible"
ok "$(perl -e 'print $ARGV[0] <= 6 ? 0 : 1' "$(posts_ok)")" \
	"edits: 3 messages and the storm in digests ($(posts_ok) posts)"
stop_herald

# ---- kill -9 in the middle of a storm --------------------------------------
start_fake --slack-rate 1
use_slack
rm -f "$T/herald.db"*
start_herald
send "$(events crash started 0 399)"
wait_until 30 test "$(posts_ok)" -ge 2
kill9_herald
before=$(posts_ok)
start_herald
wait_until 120 settled
ok $? "crash: everything settled after the restart"
is "$(count_state delivered)" 400 "crash: all 400 delivered"
is "$(missing_apps slack crash 400 | wc -l)" 0 "crash: every app visible"
# A restarted herald starts with a full bucket the fake's may not have:
# a 429 then is waited out and the digest sent again, as any 429.
echo "# crash: $(slack_429) answers 429 after the restart (retried)"
# Slack has no nonce: at most the digest in flight at the kill repeats.
twice=$(messages | jq -r '.slack[] | tostring' | perl -ne 'my %m = map { $_ => 1 } /(crash-\d{4})/g;
	$n{$_}++ for keys %m; END { print scalar(grep { $n{$_} > 1 } keys %n), "\n" }')
ok "$(perl -e 'print $ARGV[0] <= 50 ? 0 : 1' "$twice")" \
	"crash: at most one digest's apps shown twice ($twice; $before posts before the kill, $(posts_ok) in all)"
stop_herald

# ---- Discord: a smaller storm ----------------------------------------------
start_fake
use_discord
export NOTIFICATIONS_DEFAULT_CHANNEL='deploys'
rm -f "$T/herald.db"*
start_herald
send "$(events dc started 0 79)"
send "$(events dc succeeded 0 79)"
wait_until 120 settled
ok $? "discord storm: settled"
dposts=$(requests /messages | jq '[.[] | select(.method == "POST" and .status == 200)] | length')
echo "# discord storm: 160 notifications (80 rollouts) -> $dposts messages"
ok "$(perl -e 'print $ARGV[0] <= 10 ? 0 : 1' "$dposts")" \
	"discord storm: at most 10 messages posted (got $dposts)"
is "$(discord_429)" 0 "discord storm: no 429"
is "$(count_state delivered)" 160 "discord storm: all delivered"
is "$(missing_apps discord dc 80 | wc -l)" 0 "discord storm: every app visible"
is "$(not_live discord dc 80)" 0 "discord storm: every app's line shows it live"
stop_herald

no_sanitizer_reports
done_testing
