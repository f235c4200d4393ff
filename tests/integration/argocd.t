#!/bin/bash
# Argo CD notifications → POST /api/v1/events, with the configuration of
# docs/argocd/herald-notifications.yaml. The bodies posted here are not
# written by hand: a small renderer below reads the template out of that
# file and renders it the way Argo CD's notifications controller does, for
# a sample Application (JSON below) in each phase of two sync operations.
# So this test breaks when the YAML's template or wiring changes in a way
# herald would not take. Checked: the YAML's shape; the bodies (status per
# phase, labels and fallbacks, toJson quoting, herald route - takes them);
# against herald serve and the fake Slack: Running then Succeeded of one
# operation is ONE message, edited to succeeded; a repeat of the Succeeded
# body is a duplicate; a second operation is a second message.
#
# What the renderer imitates, and where that was checked (argoproj/argo-cd
# and argoproj/notifications-engine on GitHub):
#   - the webhook body is a Go text/template (not html/template) executed
#     with the FuncMap of sprig.TxtFuncMap(): notifications-engine
#     pkg/services/webhook.go (GetTemplater: texttemplate.New(...).Funcs(f))
#     and pkg/templates/service.go (f := sprig.TxtFuncMap()). Sprig v3.2.3
#     (notifications-engine go.mod): toJson is json.Marshal (defaults.go),
#     default returns its first argument when the piped one is empty
#     (defaults.go), get returns "" for a key a map lacks, a nil map too
#     (dict.go).
#   - the variables: .app is the Application as unstructured JSON
#     (map[string]any) and .context the `context` key of
#     argocd-notifications-cm: argo-cd util/notification/settings/settings.go
#     (initGetVars: "app": obj, "context": ...).
#   - missing map keys render as nothing (text/template's default
#     missingkey), so .app.status.operationState.syncResult.revision before
#     a sync result exists is "no value" and `default` takes over; `index`
#     of a missing labels map would be an error ("index of untyped nil"),
#     which is why the template uses sprig's get.
#   - the service's headers are sent as configured, $name replaced by that
#     key of argocd-notifications-secret (notifications-engine
#     pkg/api/config.go, replaceStringSecret); the method comes from the
#     template (default GET), the URL from the service (webhook.go,
#     applyOverridesFrom); 5xx answers are retried (retryablehttp) and a
#     4xx is not (docs/operator-manual/notifications/services/webhook.md).
#   - the triggers copy the `when` of the catalog's on-sync-running,
#     on-sync-succeeded, on-sync-failed (notifications_catalog/install.yaml:
#     "app.status.operationState != nil and app.status.operationState.phase
#     in ['Running']", ['Succeeded'], ['Error', 'Failed']); oncePer keys the
#     "already notified" state by its value (notifications-engine
#     pkg/controller/state.go, StateItemKey) and each condition of a
#     trigger has its own key (pkg/triggers/service.go).
#   - Application fields: status.operationState.{phase, startedAt, message,
#     syncResult.revision, operation.initiatedBy.{username,automated}},
#     status.sync.revision, spec.destination.namespace (argo-cd
#     pkg/apis/application/v1alpha1/types.go: OperationInitiator's
#     username and automated are omitempty).
# The renderer handles exactly the constructs the template uses: text,
# {{ }} with {{- -}} trimming, if / else if / else / end, pipelines (|),
# field paths, "string" literals, and the functions eq, toJson, printf (%s),
# get, default. Anything else fails the test: extend it along with the
# template. PyYAML is not a dependency (scripts/install-deps does not
# install it): the template is read out of the YAML by the renderer's own
# reader of `key: |` blocks; where PyYAML happens to be installed, one more
# test checks that it reads the file the same way.
. "$(dirname "$0")/lib.sh"
need_jq

YAML="$HERALD_SRC/docs/argocd/herald-notifications.yaml"
[ -r "$YAML" ] || { echo "Bail out! $YAML is missing"; exit 1; }

cat >"$T/argocd.py" <<'PY'
"""argocd.py: reads docs/argocd/herald-notifications.yaml and renders its
webhook body template as Argo CD's notifications controller would.
  argocd.py parts YAML           the pieces, as JSON
  argocd.py render YAML CONTEXT  the body for the variables in CONTEXT
  argocd.py pyyaml YAML          compare with PyYAML (exit 3: no PyYAML)
"""
import json
import re
import sys

TEMPLATE, SERVICE, TRIGGER = ("template.herald-sync", "service.webhook.herald",
                              "trigger.on-herald-sync")


class Missing:
    """A map key that is not there: text/template's "no value"."""
    def __repr__(self):
        return "<no value>"


MISSING = Missing()


def fail(msg):
    sys.exit("argocd.py: " + msg)


# ---- the YAML: documents and `key: |` blocks ---------------------------------

def documents(text):
    docs, cur = [], []
    for line in text.split("\n"):
        if line.rstrip() == "---":
            docs.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    docs.append("\n".join(cur))
    return docs


def block(text, key):
    """The value of the one `KEY: |` literal block scalar in text (clip
    chomping: one final newline), or fail."""
    lines = text.split("\n")
    pat = re.compile(r"^( *)" + re.escape(key) + r": *\|[ \t]*(#.*)?$")
    hits = [i for i, l in enumerate(lines) if pat.match(l)]
    if len(hits) != 1:
        fail("%d `%s: |` blocks; expected one" % (len(hits), key))
    i = hits[0]
    indent = len(pat.match(lines[i]).group(1))
    body, content = [], None
    for l in lines[i + 1:]:
        if l.strip() == "":
            body.append("")
            continue
        ind = len(l) - len(l.lstrip(" "))
        if ind <= indent:
            break
        if content is None:
            content = ind
        if ind < content:
            fail("`%s: |`: a line less indented than the first" % key)
        body.append(l[content:])
    while body and body[-1] == "":
        body.pop()
    if not body:
        fail("`%s: |` is empty" % key)
    return "\n".join(body) + "\n"


def scalar(text, key):
    """The plain scalar of the one `KEY: value` line in text."""
    m = re.findall(r"^ *-? *" + re.escape(key) + r": *([^|\s#][^#\n]*?) *$",
                   text, re.M)
    if len(m) != 1:
        fail("%d `%s:` lines; expected one" % (len(m), key))
    return m[0]


def parts(path):
    text = open(path, encoding="utf-8").read()
    docs = documents(text)
    cm = docs[0]
    tmpl = block(cm, TEMPLATE)
    service = block(cm, SERVICE)
    trigger = block(cm, TRIGGER)
    heads = re.findall(r"^- name: *(\S.*?) *\n +value: *(\S.*?) *$", service,
                       re.M)
    return {
        "documents": len(docs),
        "kind": scalar(cm, "kind"),
        "name": scalar(re.split(r"^data:", cm, flags=re.M)[0], "name"),
        "context": block(cm, "context"),
        "url": scalar(service, "url"),
        "headers": [{"name": n, "value": v} for n, v in heads],
        "webhook_service": re.findall(r"^webhook:\n +(\S+):", tmpl, re.M),
        "method": scalar(tmpl, "method"),
        "body": block(tmpl, "body"),
        "when": re.findall(r"^ *-? *when: *(.*?) *$", trigger, re.M),
        "oncePer": re.findall(r"^ *-? *oncePer: *(.*?) *$", trigger, re.M),
        "send": re.findall(r"^ *-? *send: *(.*?) *$", trigger, re.M),
        "secret_kind": scalar(docs[1], "kind") if len(docs) > 1 else None,
        "secret_name": scalar(docs[1], "name") if len(docs) > 1 else None,
        "secret_keys": re.findall(r"^  ([\w-]+):", re.split(
            r"^stringData:", docs[1], flags=re.M)[-1], re.M)
        if len(docs) > 1 else [],
        "subscribe": re.findall(r"notifications\.argoproj\.io/subscribe\."
                                r"([\w-]+)\.([\w-]+)", text),
    }


# ---- the template ----------------------------------------------------------

TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<field>(?:\.[A-Za-z_]'
                   r'\w*)+)|(?P<ident>[A-Za-z_]\w*)|(?P<pipe>\|)|(?P<bad>\S))')


def lex_action(src):
    toks = []
    for m in TOKEN.finditer(src):
        kind = m.lastgroup
        if kind is None:
            continue
        if kind == "bad":
            fail("unsupported template syntax %r in {{%s}}" % (m.group(kind),
                                                              src))
        toks.append((kind, m.group(kind)))
    return toks


def parse_template(text):
    """Text and actions into a tree: ("text", s), ("out", pipe),
    ("if", [(pipe, nodes)...], else_nodes)."""
    items, pos = [], 0
    for m in re.finditer(r"\{\{(-\s)?(.*?)(\s-)?\}\}", text, re.S):
        items.append(("text", text[pos:m.start()]))
        items.append(("action", m.group(2), bool(m.group(1)), bool(m.group(3))))
        pos = m.end()
    items.append(("text", text[pos:]))
    for i, it in enumerate(items):          # {{- and -}} trim white space
        if it[0] != "action":
            continue
        if it[2]:
            items[i - 1] = ("text", items[i - 1][1].rstrip(" \t\r\n"))
        if it[3]:
            items[i + 1] = ("text", items[i + 1][1].lstrip(" \t\r\n"))
    root = []
    stack = [("root", root)]                # (kind, list being filled, node)
    for it in items:
        cur = stack[-1][1]
        if it[0] == "text":
            if it[1]:
                cur.append(("text", it[1]))
            continue
        toks = lex_action(it[1])
        if not toks:
            fail("empty action")
        if toks[0] == ("ident", "if"):
            node = ("if", [(pipeline(toks[1:]), [])], [])
            cur.append(node)
            stack.append(("if", node[1][0][1], node))
        elif toks[:2] == [("ident", "else"), ("ident", "if")]:
            node = close_branch(stack)
            node[1].append((pipeline(toks[2:]), []))
            stack.append(("if", node[1][-1][1], node))
        elif toks == [("ident", "else")]:
            node = close_branch(stack)
            stack.append(("else", node[2], node))
        elif toks == [("ident", "end")]:
            if len(stack) == 1:
                fail("end without if")
            stack.pop()
        else:
            cur.append(("out", pipeline(toks)))
    if len(stack) != 1:
        fail("if without end")
    return root


def close_branch(stack):
    """Ends an if branch at {{else}}: the if node."""
    if stack[-1][0] != "if":
        fail("else outside if, or after else")
    return stack.pop()[2]


def pipeline(toks):
    cmds, cur = [], []
    for t in toks:
        if t[0] == "pipe":
            cmds.append(cur)
            cur = []
        else:
            cur.append(t)
    cmds.append(cur)
    for c in cmds:
        if not c:
            fail("empty command in a pipeline")
        if c[0][0] == "ident" and c[0][1] not in FUNCS:
            fail("function %r is not one the renderer knows" % c[0][1])
        if c[0][0] != "ident" and len(c) > 1:
            fail("%s is not a function" % c[0][1])
    return cmds


def operand(tok, data):
    kind, val = tok
    if kind == "str":
        return json.loads(val)
    if kind == "field":
        cur = data
        for name in val[1:].split("."):
            if cur is MISSING:              # no value: stays no value
                continue
            if cur is None:
                fail("nil pointer evaluating interface {}.%s" % name)
            if not isinstance(cur, dict):
                fail("can't evaluate field %s in %r" % (name, cur))
            cur = cur.get(name, MISSING)
        return cur
    fail("unexpected %r" % val)


def run_pipeline(cmds, data):
    value, first = None, True
    for cmd in cmds:
        if cmd[0][0] == "ident":
            args = [operand(t, data) for t in cmd[1:]]
            if not first:
                args.append(value)
            value = FUNCS[cmd[0][1]](*args)
        else:
            value = operand(cmd[0], data)
        first = False
    return value


def empty(v):
    if v is MISSING or v is None:
        return True
    if isinstance(v, bool):
        return not v
    if isinstance(v, (str, list, dict)):
        return len(v) == 0
    if isinstance(v, (int, float)):
        return v == 0
    return False


def go_json(v):
    """encoding/json.Marshal: compact, sorted keys, HTML characters escaped."""
    if v is MISSING:
        v = None
    s = json.dumps(v, ensure_ascii=False, separators=(",", ":"),
                   sort_keys=True)
    for c, e in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                 ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(c, e)
    return s


def go_printf(fmt, *args):
    out, args = [], list(args)
    for piece in re.split(r"(%.)", fmt):
        if piece == "%%":
            out.append("%")
        elif piece == "%s":
            if not args:
                out.append("%!s(MISSING)")
                continue
            a = args.pop(0)
            if a is MISSING or a is None:
                out.append("%!s(<nil>)")
            elif isinstance(a, str):
                out.append(a)
            else:
                fail("printf %%s of %r: not handled" % (a,))
        elif piece.startswith("%") and len(piece) == 2:
            fail("printf verb %s: not handled" % piece)
        else:
            out.append(piece)
    if args:
        fail("printf: extra arguments")
    return "".join(out)


def go_eq(a, b):
    if not isinstance(a, str) or not isinstance(b, str):
        fail("eq %r %r: incompatible types for comparison" % (a, b))
    return a == b


def sprig_get(d, key):
    if d is MISSING:                        # a nil map
        return ""
    if not isinstance(d, dict):
        fail("get: %r is not a map" % (d,))
    return d.get(key, "")


FUNCS = {
    "eq": go_eq,
    "toJson": go_json,
    "printf": go_printf,
    "get": sprig_get,
    "default": lambda d, given=MISSING: d if empty(given) else given,
}


def execute(nodes, data, out):
    for n in nodes:
        if n[0] == "text":
            out.append(n[1])
        elif n[0] == "out":
            v = run_pipeline(n[1], data)
            if v is MISSING:
                out.append("<no value>")
            elif isinstance(v, str):
                out.append(v)
            else:
                fail("printing %r: not handled" % (v,))
        else:
            for cond, body in n[1]:
                if not empty(run_pipeline(cond, data)):
                    execute(body, data, out)
                    break
            else:
                execute(n[2], data, out)


def render(path, ctx_path):
    p = parts(path)
    data = json.load(open(ctx_path, encoding="utf-8"))
    out = []
    execute(parse_template(p["body"]), data, out)
    return "".join(out)


def with_pyyaml(path):
    try:
        import yaml
    except ImportError:
        sys.exit(3)
    p = parts(path)
    docs = list(yaml.safe_load_all(open(path, encoding="utf-8")))
    cm = docs[0]
    d = cm["data"]
    tmpl = yaml.safe_load(d[TEMPLATE])
    svc = yaml.safe_load(d[SERVICE])
    trig = yaml.safe_load(d[TRIGGER])
    problems = []

    def same(what, a, b):
        if a != b:
            problems.append("%s: PyYAML %r, the test's reader %r" % (what, a, b))
    same("kind", cm["kind"], p["kind"])
    same("name", cm["metadata"]["name"], p["name"])
    same("template", tmpl["webhook"]["herald"]["body"], p["body"])
    same("method", tmpl["webhook"]["herald"]["method"], p["method"])
    same("webhook service", list(tmpl["webhook"]), p["webhook_service"])
    same("url", svc["url"], p["url"])
    same("headers", svc["headers"], p["headers"])
    same("when", [c["when"] for c in trig], p["when"])
    same("send", [c["send"] for c in trig],
         [yaml.safe_load(s) for s in p["send"]])
    same("secret keys", list(docs[1]["stringData"]), p["secret_keys"])
    print("\n".join(problems))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "parts":
        print(json.dumps(parts(sys.argv[2])))
    elif cmd == "render":
        sys.stdout.write(render(sys.argv[2], sys.argv[3]))
    elif cmd == "pyyaml":
        with_pyyaml(sys.argv[2])
    else:
        fail("unknown command " + cmd)
PY

# The Application and context the notifications controller would hand the
# template, as the API shows an Application (kubectl get application -o
# json), cut to what matters. Each step below changes the operation state.
cat >"$T/app.json" <<'JSON'
{
  "context": {"argocdUrl": "https://argocd.example.com", "notificationType": "herald"},
  "app": {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {
      "name": "guestbook",
      "namespace": "argocd",
      "labels": {"env": "production", "team": "web"},
      "annotations": {"notifications.argoproj.io/subscribe.on-herald-sync.herald": ""}
    },
    "spec": {
      "project": "default",
      "source": {"repoURL": "https://github.com/acme/gitops.git", "path": "guestbook", "targetRevision": "HEAD"},
      "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook"}
    },
    "status": {
      "sync": {"status": "OutOfSync", "revision": "4f2c9e1a7b3d5e6f8091a2b3c4d5e6f708192a3b"},
      "health": {"status": "Healthy"},
      "operationState": {
        "operation": {
          "sync": {"revision": "4f2c9e1a7b3d5e6f8091a2b3c4d5e6f708192a3b"},
          "initiatedBy": {"username": "jane"}
        },
        "phase": "Running",
        "message": "waiting for healthy state of apps/Deployment/guestbook-ui",
        "startedAt": "2026-11-26T10:00:00Z"
      }
    }
  }
}
JSON

# ctx JQ-FILTER FILE: the sample context, changed by a jq filter.
ctx() { jq "$1" "$T/app.json" >"$2"; }
# render CONTEXT-FILE OUT-FILE: the body the template makes of it.
render() { python3 "$T/argocd.py" render "$YAML" "$1" >"$2" 2>"$T/render.err"; }

# ---- the YAML ------------------------------------------------------------------
python3 "$T/argocd.py" parts "$YAML" >"$T/parts.json" 2>"$T/parts.err"
is "$?" 0 "the test's reader reads the YAML's blocks"
sed 's/^/#   /' "$T/parts.err"
p() { jq -r "$1" "$T/parts.json"; }
is "$(p '"\(.documents) \(.kind) \(.name) \(.secret_kind) \(.secret_name)"')" \
	"2 ConfigMap argocd-notifications-cm Secret argocd-notifications-secret" \
	"a ConfigMap argocd-notifications-cm, then the Secret argocd-notifications-secret"
like "$(p .url)" '^https://[^/]+/api/v1/events$' "the webhook service posts to /api/v1/events"
# shellcheck disable=SC2016 # $herald-token is literal: Argo CD replaces it
is "$(p '.headers | map("\(.name): \(.value)") | join(", ")')" \
	'Content-Type: application/json, Authorization: Bearer $herald-token' \
	"its headers: JSON, and the API token from the Secret"
is "$(p '.secret_keys | join(" ")')" herald-token "the Secret stub holds herald-token"
is "$(p '"\(.webhook_service | join(" ")) \(.method)"')" "herald POST" \
	"the template is for the webhook service herald, method POST"
like "$(p .context)" '^argocdUrl: https?://' "the context sets argocdUrl (the links)"
is "$(p '.when | join(" | ")')" \
	"app.status.operationState != nil and app.status.operationState.phase in ['Running'] | app.status.operationState != nil and app.status.operationState.phase in ['Succeeded'] | app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']" \
	"the trigger's conditions: the catalog's Running, Succeeded, Error/Failed"
is "$(p '"\(.oncePer | unique | join(" ")) \(.send | unique | join(" "))"')" \
	"app.status.operationState?.startedAt [herald-sync]" \
	"each condition once per sync operation, sending the template"
is "$(p '.subscribe | map(join(".")) | unique | join(" ")')" on-herald-sync.herald \
	"the subscription annotation names the trigger and the service"
python3 "$T/argocd.py" pyyaml "$YAML" >"$T/pyyaml.out" 2>&1
case $? in
3) skip "PyYAML reads the file as the test's reader does" "PyYAML is not installed" ;;
*) is "$(cat "$T/pyyaml.out")" "" "PyYAML reads the file as the test's reader does" ;;
esac

# ---- the bodies --------------------------------------------------------------------
ctx . "$T/c1-running.json"
ctx '.app.status.operationState.phase = "Succeeded"
   | .app.status.operationState.message = "successfully synced (all tasks run)"
   | .app.status.operationState.finishedAt = "2026-11-26T10:01:30Z"
   | .app.status.operationState.syncResult = {"revision": .app.status.sync.revision}
   | .app.status.sync.status = "Synced"' "$T/c1-succeeded.json"
# A second operation: automated, of another commit, failing with a message
# that needs quoting (quotes, a newline, < and &).
ctx '.app.status.sync.revision = "9a8b7c6d5e4f30211029384756abcdef01234567"
   | .app.status.operationState = {
       "operation": {"sync": {"revision": .app.status.sync.revision},
                     "initiatedBy": {"automated": true}},
       "phase": "Running", "message": "syncing", "startedAt": "2026-11-26T11:00:00Z"}' \
	"$T/c2-running.json"
jq '.app.status.operationState.phase = "Failed"
  | .app.status.operationState.message = "one or more objects failed to apply, reason: Deployment.apps \"guestbook-ui\" is invalid:\nspec.replicas: Invalid value: -1 (must be >= 0 & < 100)"
  | .app.status.operationState.syncResult = {"revision": .app.status.sync.revision}' \
	"$T/c2-running.json" >"$T/c2-failed.json"

ok=0
for c in c1-running c1-succeeded c2-running c2-failed; do
	render "$T/$c.json" "$T/$c.body" || { ok=1; sed 's/^/#   /' "$T/render.err"; }
done
is "$ok" 0 "the template renders for each phase"
ok=0
for c in c1-running c1-succeeded c2-running c2-failed; do
	jq -e 'type == "object"' "$T/$c.body" >/dev/null 2>&1 || { ok=1; echo "#   $c: $(head -c 400 "$T/$c.body")"; }
done
is "$ok" 0 "each body is one JSON object"

fields='[.type, .status, .app, .env, .sha, .actor, .url, .correlation, .id, (.description // "-")] | join(" ")'
is "$(jq -r "$fields" "$T/c1-running.body")" \
	"deploy started guestbook production 4f2c9e1a7b3d5e6f8091a2b3c4d5e6f708192a3b jane https://argocd.example.com/applications/guestbook argocd/guestbook/2026-11-26T10:00:00Z argocd/guestbook/2026-11-26T10:00:00Z/Running -" \
	"Running: started; app from the name, env from the label, the user, no description"
is "$(jq -r "$fields" "$T/c1-succeeded.body")" \
	"deploy succeeded guestbook production 4f2c9e1a7b3d5e6f8091a2b3c4d5e6f708192a3b jane https://argocd.example.com/applications/guestbook argocd/guestbook/2026-11-26T10:00:00Z argocd/guestbook/2026-11-26T10:00:00Z/Succeeded -" \
	"Succeeded: the same correlation, its own id"
is "$(jq -r '[.status, .actor, .sha, .correlation] | join(" ")' "$T/c2-failed.body")" \
	"failed automated 9a8b7c6d5e4f30211029384756abcdef01234567 argocd/guestbook/2026-11-26T11:00:00Z" \
	"Failed: failed, actor automated, a new correlation"
is "$(jq -r .description "$T/c2-failed.body")" "$(jq -r .app.status.operationState.message "$T/c2-failed.json")" \
	"Failed: the operation message is the description, intact through toJson"
like "$(cat "$T/c2-failed.body")" '\\u003e= 0 \\u0026 \\u003c 100' "toJson escapes as Go's json.Marshal does"

# Labels: an app label wins over the name; no labels at all (no map) falls
# back to the name and the destination namespace rather than failing.
ctx '.app.metadata.labels = {"app": "guestbook-ui", "env": "staging"}' "$T/c-labels.json"
ctx 'del(.app.metadata.labels)' "$T/c-nolabels.json"
render "$T/c-labels.json" "$T/c-labels.body" && render "$T/c-nolabels.json" "$T/c-nolabels.body"
is "$(jq -r '"\(.app)/\(.env)"' "$T/c-labels.body") $(jq -r '"\(.app)/\(.env)"' "$T/c-nolabels.body")" \
	"guestbook-ui/staging guestbook/guestbook" \
	"labels app and env win; without labels: the name and the destination namespace"

# herald route - takes what the template makes.
export NOTIFICATIONS_DEFAULT_CHANNEL='#deploys'
"$HERALD" route --provider slack - <"$T/c1-running.body" >"$T/route.out" 2>"$T/route.err"
is "$?" 0 "herald route - accepts the Running body"
like "$(head -2 "$T/route.out" | tr '\n' ' ')" '^deploy started app=guestbook env=production.*destination: #deploys' \
	"herald route - says what and where"

# ---- through herald serve, to the fake Slack -------------------------------------
# The request Argo CD's webhook service makes: the template's method, the
# service URL's path, the service's headers with $herald-token replaced.
TOKEN=argocd-test-token
hdrs=()
while IFS= read -r h; do
	hdrs+=(-H "${h//\$herald-token/$TOKEN}")
done < <(p '.headers[] | "\(.name): \(.value)"')
path=/$(p .url | cut -d/ -f4-)
method=$(p .method)
argo() {	# argo BODY-FILE: posts it as Argo CD would; sets STATUS, BODY
	STATUS=$(curl -sS -m 30 -X "$method" "${hdrs[@]}" --data-binary @"$1" \
		-o "$T/argo.answer" -w '%{http_code}' "$HERALD_URL$path")
	BODY=$(cat "$T/argo.answer")
}

# fake_messages: the fake's Slack messages, one a line:
# "channel<TAB>new|edited<TAB>text" (the text's newlines shown as " / ").
fake_messages() {
	curl -sS -m 10 "$FAKE_URL/_fake/messages" | jq -r '.slack[] |
		"\(.channel_name // .channel)\t\(if .edited then "edited" else "new" end)\t\(.text | gsub("\n"; " / "))"'
}
# delivered N: waits (30 s at most) until N notifications are delivered.
n_delivered_ge() {
	[ "$(curl -sS -m 5 -H "Authorization: Bearer $TOKEN" \
		"$HERALD_URL/api/v1/notifications?state=delivered&limit=1000" |
		jqr '.notifications | length')" -ge "$1" ] 2>/dev/null
}
delivered() { wait_until 30 n_delivered_ge "$1"; }

start_fake --slack-rate 0
use_slack
start_herald HERALD_API_TOKEN="$TOKEN"

argo "$T/c1-running.body"
is "$STATUS" 202 "Running: accepted"
delivered 1
ok $? "Running: delivered"
argo "$T/c1-succeeded.body"
is "$STATUS $(printf '%s' "$BODY" | jqr '.accepted[0].duplicate')" "202 false" "Succeeded: accepted"
delivered 2
ok $? "Succeeded: delivered"
msgs=$(fake_messages)
is "$(printf '%s\n' "$msgs" | grep -c .)" 1 "one sync operation is ONE message"
like "$msgs" $'^deploys\tedited\t.*guestbook 4f2c9e1 is live on production' \
	"it ends edited to succeeded"
is "$(requests chat.update | jq length)" 1 "the Succeeded was an edit (chat.update)"

# Argo CD may send a notification again (a retried 5xx, a controller
# restart): the same body is a duplicate.
argo "$T/c1-succeeded.body"
is "$STATUS $(printf '%s' "$BODY" | jqr '.accepted[0].duplicate')" "200 true" \
	"a repeat of the Succeeded body is a duplicate (200)"

# The next sync operation of the same Application: a message of its own.
argo "$T/c2-running.body"
is "$STATUS" 202 "second operation, Running: accepted"
delivered 3
argo "$T/c2-failed.body"
is "$STATUS" 202 "second operation, Failed: accepted"
delivered 4
ok $? "second operation: both delivered"
msgs=$(fake_messages)
is "$(printf '%s\n' "$msgs" | grep -c .)" 2 "a second sync operation makes a second message"
like "$(printf '%s\n' "$msgs" | sed -n 2p)" $'^deploys\tedited\t.*guestbook 9a8b7c6 to production failed' \
	"the second message ends edited to failed"
is "$(requests chat.postMessage | jq length) $(requests chat.update | jq length)" "2 2" \
	"two posts and two edits in all: the duplicate sent nothing"
stop_herald
is "$HERALD_RC" 0 "herald serve exits 0"

no_sanitizer_reports
done_testing
