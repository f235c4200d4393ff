#!/usr/bin/env bash
# What `meson install` installs (docs/deploy.md): into a DESTDIR, from the
# build under test, without rebuilding. The binary runs; the man pages
# render without warnings (with groff), herald(1) has every command of
# `herald --help` and herald-serve(8) every variable of
# docs/configuration.md's summary table; the systemd unit points at the
# installed binary, passes `systemd-analyze verify` and rates at most 2.0
# ("OK") in `systemd-analyze security --offline`; the example environment
# file names only known variables; the bash completion offers every command
# and every flag of each command's help; `make install` passes PREFIX and
# DESTDIR on. Needs bash, jq, meson; groff and systemd-analyze are used when
# present (scripts/install-deps installs them) and skipped otherwise.

. "$(dirname "$0")/lib.sh"
need_jq

BUILD=$(cd "$(dirname "$HERALD")" && pwd)
if [ ! -f "$BUILD/build.ninja" ] || ! command -v meson >/dev/null 2>&1; then
	echo "1..0 # SKIP $BUILD is not a Meson build directory (or meson is missing)"
	exit 0
fi

ROOT="$T/root"
meson install -C "$BUILD" --no-rebuild --destdir "$ROOT" >"$T/install.log" 2>&1
rc=$?
is "$rc" 0 "meson install --destdir succeeds"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/install.log" | tail -20

opt() { meson introspect --buildoptions "$BUILD" | jq -r --arg n "$1" '.[] | select(.name == $n) | .value'; }
prefix=$(opt prefix)
bindir=$(opt bindir); case "$bindir" in /*) ;; *) bindir=$prefix/$bindir ;; esac
datadir=$(opt datadir); case "$datadir" in /*) ;; *) datadir=$prefix/$datadir ;; esac
mandir=$(opt mandir); case "$mandir" in /*) ;; *) mandir=$prefix/$mandir ;; esac
unitdir=$(opt systemdunitdir); [ -n "$unitdir" ] || unitdir=$prefix/lib/systemd/system
compdir=$(opt bashcompletiondir); [ -n "$compdir" ] || compdir=$datadir/bash-completion/completions

# --- the binary -----------------------------------------------------------
BIN="$ROOT$bindir/herald"
is "$("$BIN" --version 2>&1)" "$("$HERALD" --version 2>&1)" "the installed herald runs: $bindir/herald --version"

# --- the man pages ----------------------------------------------------------
MAN1="$ROOT$mandir/man1/herald.1"
MAN8="$ROOT$mandir/man8/herald-serve.8"
ok "$([ -s "$MAN1" ] && [ -s "$MAN8" ]; echo $?)" "herald(1) and herald-serve(8) installed in $mandir"
if command -v groff >/dev/null 2>&1; then
	warn=$(groff -man -Tutf8 -ww -z "$MAN1" "$MAN8" 2>&1)
	is "$warn" "" "both render with groff -ww without a warning"
else
	skip "both render with groff -ww without a warning" "groff is not installed (apt-get install groff-base)"
fi
cmds=$("$HERALD" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
ok "$([ "$(printf '%s\n' "$cmds" | grep -c .)" -ge 5 ]; echo $?)" "herald --help lists the commands ($(echo $cmds))"
missing=""
for c in $cmds; do
	grep -q "^\.SS herald $c\b" "$MAN1" || missing="$missing $c"
done
is "$missing" "" "herald(1) has a section for every command of herald --help"
missing=""
for c in $cmds; do
	[ "$c" = help ] && continue
	for f in $("$HERALD" "$c" --help | grep -oE -- '(^|[][ ,|])--[a-z][a-z0-9-]*' | sed 's/^[][ ,|]*//' | sort -u); do
		man_f=$(printf '%s' "$f" | sed 's/-/\\\\-/g')
		grep -q -- "$man_f" "$MAN1" || missing="$missing $c:$f"
	done
done
is "$missing" "" "herald(1) names every flag of every command's --help"
vars=$(sed -n '/^## Summary/,$p' "$HERALD_SRC/docs/configuration.md" |
	sed -n 's/^| `\([A-Z_]*\)` |.*/\1/p')
ok "$([ "$(printf '%s\n' "$vars" | grep -c .)" -ge 30 ]; echo $?)" \
	"docs/configuration.md's summary table lists the variables ($(printf '%s\n' "$vars" | grep -c .))"
missing=""
for v in $vars; do
	grep -q "\\b$v\\b" "$MAN8" || missing="$missing $v"
done
is "$missing" "" "herald-serve(8) names every variable of the summary table"

# --- the systemd unit ---------------------------------------------------------
UNIT="$ROOT$unitdir/herald.service"
ok "$([ -s "$UNIT" ]; echo $?)" "herald.service installed in $unitdir"
is "$(grep '^ExecStart=' "$UNIT")" "ExecStart=$bindir/herald serve" "ExecStart is the installed binary"
is "$(grep -c '@[A-Z_]*@' "$UNIT")" 0 "no @PLACEHOLDER@ left"
for want in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' \
	'EnvironmentFile=-/etc/herald/herald.env' 'DynamicUser=yes' \
	'StateDirectory=herald' 'WorkingDirectory=%S/herald' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'CapabilityBoundingSet=' \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service'; do
	ok "$(grep -qxF -- "$want" "$UNIT"; echo $?)" "the unit has $want"
done
# verify checks that ExecStart's binary exists: the installed one is under
# the DESTDIR, so a copy of the unit names it there.
mkdir -p "$T/verify"
sed "s|^ExecStart=$bindir/herald|ExecStart=$BIN|" "$UNIT" >"$T/verify/herald.service"
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(cd "$T/verify" && systemd-analyze verify --man=no herald.service 2>&1)
	rc=$?
	is "$rc $out" "0 " "systemd-analyze verify: no complaint"
	if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
		out=$(cd "$T/verify" && systemd-analyze security --offline=true \
			--threshold=20 herald.service 2>&1)
		rc=$?
		score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for herald.service: \([0-9.]*\).*/\1/p')
		ok "$rc" "systemd-analyze security --offline: exposure at most 2.0 (got ${score:-none})"
		like "$out" 'Overall exposure level for herald.service: [0-9.]+ OK' "rated OK"
	else
		skip "systemd-analyze security --offline: exposure at most 2.0" "this systemd-analyze has no --offline"
		skip "rated OK" "this systemd-analyze has no --offline"
	fi
else
	skip "systemd-analyze verify: no complaint" "systemd-analyze is not installed (apt-get install systemd, or scripts/install-deps)"
	skip "systemd-analyze security --offline: exposure at most 2.0" "systemd-analyze is not installed"
	skip "rated OK" "systemd-analyze is not installed"
fi

# --- the example environment file ---------------------------------------------
ENVF="$ROOT$datadir/herald/herald.env"
ok "$([ -s "$ENVF" ]; echo $?)" "the example environment file installed in $datadir/herald"
unknown=""
for v in $(sed -n 's/^#\?\([A-Z][A-Z_]*\)=.*/\1/p' "$ENVF"); do
	printf '%s\n' "$vars" | grep -qx "$v" || unknown="$unknown $v"
done
is "$unknown" "" "it names only variables herald knows"
# Every setting uncommented, it is a configuration herald accepts, but for
# the files it names, which do not exist here.
sed 's/^#\([A-Z][A-Z_]*=\)/\1/' "$ENVF" | grep -v '_FILE=' |
	grep -v '^HERALD_CATALOG=' | grep -v '^NOTIFICATIONS_TOKEN=' >"$T/all.env"
(set -a; . "$T/all.env"; set +a; export NOTIFICATIONS_TOKEN=xoxb-test
 "$BIN" config >"$T/config.out" 2>&1)
rc=$?
is "$rc" 0 "uncommented, herald config accepts it"
[ "$rc" -eq 0 ] || tail -5 "$T/config.out" | sed 's/^/#   /'

# --- bash completion ----------------------------------------------------------
COMP="$ROOT$compdir/herald"
ok "$([ -s "$COMP" ]; echo $?)" "bash completion installed as $compdir/herald"
# complete WORD...: what _herald offers for the words typed, the last being
# the one completed, with the installed herald first in PATH.
complete_words() {
	PATH="$ROOT$bindir:$PATH" bash -c '. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_herald; printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$COMP" "$@"
}
is "$(PATH="$ROOT$bindir:$PATH" bash -c '. "$1"; complete -p herald' _ "$COMP")" \
	"complete -o filenames -F _herald herald" "sourcing it registers _herald for herald"
is "$(complete_words herald '' | tr '\n' ' ')" "$(printf '%s\n' $cmds | sort | tr '\n' ' ')" \
	"herald <TAB>: every command of herald --help"
is "$(complete_words herald se | tr '\n' ' ')" "send serve " "herald se<TAB>: send serve"
missing=""
for c in $cmds; do
	[ "$c" = help ] && continue
	want=$("$HERALD" "$c" --help | grep -oE -- '(^|[][ ,|])--[a-z][a-z0-9-]*' |
		sed 's/^[][ ,|]*//' | sort -u)
	got=$(complete_words herald "$c" --)
	for f in $want; do
		printf '%s\n' "$got" | grep -qx -- "$f" || missing="$missing $c:$f"
	done
done
is "$missing" "" "herald CMD --<TAB>: every flag of herald CMD --help, for every command"
is "$(complete_words herald send --ty)" "--type" "herald send --ty<TAB>: --type"
is "$(complete_words herald send --type '' | tr '\n' ' ')" \
	"alert delete deploy gitops message rollback " "herald send --type <TAB>: the event types"
is "$(complete_words herald route --from '' | tr '\n' ' ')" \
	"alertmanager flux github " "herald route --from <TAB>: the sources"
is "$(complete_words herald route --provider d)" "discord" "herald route --provider d<TAB>: discord"
is "$(complete_words herald help c | tr '\n' ' ')" "check config " "herald help c<TAB>: the commands"
mkdir -p "$T/files" && : >"$T/files/deploy-event.json"
is "$(cd "$T/files" && complete_words herald route dep)" "deploy-event.json" \
	"herald route dep<TAB>: file names"

# --- make install -------------------------------------------------------------
out=$(make -n -C "$HERALD_SRC" install BUILD="$BUILD" PREFIX=/opt/herald DESTDIR="$T/d" 2>&1)
like "$out" "meson configure $BUILD -Dprefix=/opt/herald" "make install PREFIX=/opt/herald sets the prefix"
like "$out" "meson install -C $BUILD --no-rebuild --destdir $T/d" "make install DESTDIR=… installs there"

done_testing
