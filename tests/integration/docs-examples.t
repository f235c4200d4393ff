#!/usr/bin/env bash
# The shell examples of README.md and docs/*.md that need no network and
# no running daemon run as written, so the documentation cannot drift from
# what herald does. docs-examples.pl finds them (`herald config`, `herald
# route`, `herald help`, … in ```sh blocks; see its top comment) and lists
# the herald commands it leaves out, and why, as comments here. Each runs
# with a clean environment (only the block's own exports and VAR=value
# prefixes), from a copy of the tree's layout (examples/, docs/, tests/,
# build/herald), with `herald` on the PATH. When the block is followed by
# an output block, that output must appear in what the command printed
# (standard output, then standard error): "…" alone on a line stands for
# any lines, "…" within a line for any text. Otherwise the command must
# exit 0. Needs bash and perl.

. "$(dirname "$0")/lib.sh"

docs=(README.md)
for f in "$HERALD_SRC"/docs/*.md; do docs+=("docs/${f##*/}"); done

mkdir -p "$T/ex" "$T/root/build" "$T/bin"
for d in examples docs tests scripts; do ln -s "$HERALD_SRC/$d" "$T/root/$d"; done
ln -s "$HERALD" "$T/root/build/herald"
ln -s "$HERALD" "$T/bin/herald"

perl "$HERALD_SRC/tests/integration/docs-examples.pl" "$HERALD_SRC" "$T/ex" "${docs[@]}" \
	>"$T/skipped" 2>"$T/extract.err"
ok $? "the extractor reads every document ($(cat "$T/extract.err"))"
while IFS=$'\t' read -r _ where why; do
	echo "# not run: $where: $why"
done <"$T/skipped"

# match OUTPUT EXPECTED: 0 when the expected lines appear in the output.
match() {
	perl -e '
		my ($got, $want) = @ARGV;
		my $re = join "\n", map {
			$_ eq "…" ? "(?:[^\n]*\n)*?[^\n]*" :
			join ".*?", map { quotemeta } split /…/, $_, -1
		} split /\n/, $want;
		exit($got =~ /^$re$/m ? 0 : 1);' "$1" "$2"
}

n=0
for cmd in "$T"/ex/*.cmd; do
	[ -e "$cmd" ] || continue
	n=$((n + 1))
	base=${cmd%.cmd}
	where=$(cat "$base.where")
	(cd "$T/root" && PATH="$T/bin:$PATH" bash "$cmd") >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	got=$(cat "$T/out" "$T/err")
	if [ -e "$base.expect" ]; then
		want=$(cat "$base.expect")
		if match "$got" "$want"; then
			ok 0 "$where: prints what the documentation shows"
		else
			ok 1 "$where: prints what the documentation shows"
			printf '%s\n' "$want" | sed 's/^/#   documented: /' | head -20
			printf '%s\n' "$got" | sed 's/^/#   printed:    /' | head -30
		fi
	else
		if [ "$rc" -eq 0 ]; then
			ok 0 "$where: exits 0"
		else
			ok 1 "$where: exits 0"
			printf '%s\n' "$got" | sed 's/^/#   printed: /' | head -20
		fi
	fi
done
ok "$([ "$n" -ge 8 ]; echo $?)" "at least 8 examples of the documentation run (found $n)"

# The README's first screen: `make run` and `make test` are Makefile targets
# that run scripts/run-serve and tests/run.
first=$(sed -n '/^```sh$/,/^```$/p' "$HERALD_SRC/README.md" | sed -n '2,3p' | awk '{print $1, $2}')
is "$first" "make run
make test" "README: the first block is make run and make test"
like "$(make -n -C "$HERALD_SRC" run 2>&1)" 'scripts/run-serve' "make run starts scripts/run-serve"
like "$(make -n -C "$HERALD_SRC" test 2>&1)" 'tests/run' "make test runs tests/run"

done_testing
