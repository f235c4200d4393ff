# TAP output for the bash integration tests: ok, skip, is, like, unlike and
# done_testing, counting in _tap_n and _tap_failed. Sourced by lib.sh and by
# fake-selftest.t (which runs without lib.sh's set-up).

_tap_n=0
_tap_failed=0

ok() {	# ok CONDITION-EXIT-STATUS DESCRIPTION
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_tap_n - $2"
	else
		echo "not ok $_tap_n - $2"
		_tap_failed=$((_tap_failed + 1))
	fi
}

skip() {	# skip DESCRIPTION REASON: a test not run here, and why
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

is() {	# is GOT EXPECTED DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:      %s\n#   expected: %s\n' "$1" "$2"
	fi
}

like() {	# like TEXT EXTENDED-REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   text: %s\n#   does not match: %s\n' "$(printf '%s' "$1" | head -c 600)" "$2"
	fi
}

unlike() {	# unlike TEXT EXTENDED-REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		printf '#   text: %s\n#   matches: %s\n' "$(printf '%s' "$1" | head -c 600)" "$2"
	else
		ok 0 "$3"
	fi
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
	exit $?
}
