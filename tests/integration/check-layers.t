#!/usr/bin/env bash
# Self-test of scripts/check-layers: the source tree passes it, and a copy
# of the tree broken in each way it checks (an include across the layers,
# an include without its folder, a second includer of a third-party header,
# a file over 1,300 lines) fails it with the file and line named. TAP
# output; needs bash, python3, cp, sed.

set -u
SRC=${HERALD_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK=$SRC/scripts/check-layers
T=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")
trap 'rm -rf "$T"' EXIT

. "$SRC/tests/integration/tap.sh"

# run ROOT: runs the check on ROOT; sets rc and out (stdout and stderr).
run() {
	out=$("$CHECK" "$1" 2>&1)
	rc=$?
}

# fresh: a new copy of src/ in $T/tree.
fresh() {
	rm -rf "$T/tree"
	mkdir -p "$T/tree"
	cp -R "$SRC/src" "$T/tree/src"
}

run "$SRC"
is "$rc" 0 "the source tree passes"
like "$out" "layers and sizes ok" "and says so"

fresh
run "$T/tree"
is "$rc" 0 "an unchanged copy passes"

fresh
sed -i '1i #include "delivery/provider.h"' "$T/tree/src/core/route.c"
run "$T/tree"
is "$rc" 1 "core including delivery fails"
like "$out" '^src/core/route\.c:1: core/ may not include "delivery/provider\.h"' \
	"naming the file, the line and the header"
like "$out" "1 problem" "and nothing else"

fresh
printf '#include "core/event.h"\n' >>"$T/tree/src/lib/strbuf.c"
sed -i '1i #include "inputs/event_json.h"' "$T/tree/src/delivery/slack.c"
sed -i '1i #include "cli/cli.h"' "$T/tree/src/daemon/log.c"
sed -i '1i #include "daemon/log.h"' "$T/tree/src/inputs/event_json.c"
run "$T/tree"
is "$rc" 1 "lib, delivery, daemon and inputs reaching up fail"
n=$(wc -l <"$T/tree/src/lib/strbuf.c")
like "$out" "^src/lib/strbuf\.c:$n: lib/ may not include" "lib including core"
like "$out" '^src/delivery/slack\.c:1: delivery/ may not include "inputs/' \
	"delivery including inputs"
like "$out" '^src/daemon/log\.c:1: daemon/ may not include "cli/' \
	"daemon including cli"
like "$out" '^src/inputs/event_json\.c:1: inputs/ may not include "daemon/' \
	"inputs including daemon"

fresh
sed -i '1i #include "strbuf.h"' "$T/tree/src/lib/text.c"
run "$T/tree"
is "$rc" 1 "an include without its folder fails"
like "$out" '^src/lib/text\.c:1: #include "strbuf\.h" must name its layer folder' \
	"naming it"

fresh
sed -i '1i #include <sqlite3.h>' "$T/tree/src/daemon/store.c"
sed -i '1i #include <curl/curl.h>' "$T/tree/src/delivery/provider.c"
printf '#include <libpq-fe.h>\n' >"$T/tree/src/daemon/pg_a.c"
printf '#include <libpq-fe.h>\n' >"$T/tree/src/daemon/pg_b.c"
run "$T/tree"
is "$rc" 1 "a third-party header in a second file fails"
like "$out" '^src/daemon/store\.c:1: <sqlite3\.h> is for src/daemon/store_sqlite\*\.c alone' \
	"<sqlite3.h> outside the store_sqlite*.c files"
like "$out" '^src/delivery/provider\.c:1: <curl/curl\.h> is for src/delivery/http_client\.c alone' \
	"<curl/curl.h> outside http_client.c"
like "$out" '^src/daemon/pg_b\.c:1: <libpq-fe\.h> is already included by src/daemon/pg_a\.c' \
	"<libpq-fe.h> in two files"

fresh
seq 1300 | sed 's|.*|/* & */|' >"$T/tree/src/core/long.c"
run "$T/tree"
is "$rc" 0 "a file of 1,300 lines passes"
echo '/* 1301 */' >>"$T/tree/src/core/long.c"
run "$T/tree"
is "$rc" 1 "a file of 1,301 lines fails"
like "$out" '^src/core/long\.c: 1301 lines, over 1300' "naming it"

fresh
mkdir "$T/tree/src/misc"
: >"$T/tree/src/misc/x.c"
run "$T/tree"
is "$rc" 1 "a file outside the layer folders fails"
like "$out" '^src/misc/x\.c: not in a layer folder' "naming it"

done_testing
