#!/usr/bin/env bash
# The deployment files (docs/deploy.md), checked without a cluster or a
# container runtime (there is neither in the test environment): the
# Kubernetes manifests in deploy/kubernetes parse (python3-yaml) and agree
# with herald (kinds, one replica with Recreate and the PVC, probes on
# /healthz and /readyz at the container's port, the Secret's keys are the
# files the *_FILE variables name, the ConfigMap's catalog is at
# HERALD_CATALOG and herald accepts it, non-root security context,
# resources, a ServiceMonitor for /metrics); the Containerfile's structure
# (two Debian 12 slim stages, a non-root USER, the volume, HEALTHCHECK on
# /readyz). Needs bash, jq, python3 with python3-yaml.

. "$(dirname "$0")/lib.sh"
need_jq

K8S="$HERALD_SRC/deploy/kubernetes"
if ! python3 -c 'import yaml' 2>/dev/null; then
	echo "Bail out! python3-yaml is not installed (apt-get install python3-yaml, or scripts/install-deps)"
	exit 1
fi

# Every document of every manifest, as one JSON array (parse errors fail).
python3 - "$K8S" >"$T/docs.json" 2>"$T/parse.err" <<'PY'
import glob, json, os, sys, yaml
docs = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))):
    with open(path) as f:
        for d in yaml.safe_load_all(f):
            if d is not None:
                d["_file"] = os.path.basename(path)
                docs.append(d)
json.dump(docs, sys.stdout)
PY
is "$? $(cat "$T/parse.err")" "0 " "every manifest in deploy/kubernetes parses as YAML"
q() { jq -r "$@" "$T/docs.json"; }
kind() { q --arg k "$1" '[.[] | select(.kind == $k)]'; }

is "$(q '[.[].kind] | sort | join(" ")')" \
	"ConfigMap Deployment Kustomization PersistentVolumeClaim Secret Service ServiceMonitor" \
	"one of each kind: ConfigMap, Deployment, Kustomization, PVC, Secret, Service, ServiceMonitor"
is "$(q '[.[] | select(.kind == "Kustomization") | .resources[]] | sort | join(" ")')" \
	"configmap.yaml deployment.yaml pvc.yaml secret.yaml service.yaml" \
	"the kustomization has every manifest but the ServiceMonitor (which needs the operator's CRD)"

kind Deployment | jq '.[0]' >"$T/deploy.json"
d() { jq -r "$@" "$T/deploy.json"; }
c() { jq -r ".spec.template.spec.containers[0] | $1" "$T/deploy.json"; }
cenv() { c ".env[] | select(.name == \"$1\") | .value"; }

is "$(d '.spec.replicas')" 1 "one replica"
is "$(d '.spec.strategy.type')" Recreate "replaced, not rolled (never two writers on the SQLite file)"
like "$(grep -i -A2 'one replica' "$K8S/deployment.yaml")" 'PostgreSQL' \
	"the Deployment says why: one replica until the PostgreSQL store"
pvc=$(kind PersistentVolumeClaim | jq -r '.[0].metadata.name')
is "$(d ".spec.template.spec.volumes[] | select(.persistentVolumeClaim.claimName == \"$pvc\") | .name" |
	xargs -I{} jq -r '.spec.template.spec.containers[0].volumeMounts[] | select(.name == "{}") | .mountPath' "$T/deploy.json")" \
	/var/lib/herald "the PVC ($pvc) is mounted at /var/lib/herald"
is "$(kind PersistentVolumeClaim | jq -r '.[0].spec.accessModes | join(" ")')" ReadWriteOnce "the PVC is ReadWriteOnce"
like "$(cenv HERALD_DATABASE)" '^/var/lib/herald/' "HERALD_DATABASE is on the PVC"

port=$(c '.ports[] | select(.name == "http") | .containerPort')
is "$(cenv HERALD_LISTEN)" "0.0.0.0:$port" "HERALD_LISTEN is the container port ($port), on every interface"
is "$(c '.livenessProbe.httpGet.path') $(c '.livenessProbe.httpGet.port')" "/healthz http" "liveness probe: /healthz on the http port"
is "$(c '.readinessProbe.httpGet.path') $(c '.readinessProbe.httpGet.port')" "/readyz http" "readiness probe: /readyz on the http port"
is "$(kind Service | jq -r '.[0].spec.ports[] | select(.name == "http") | "\(.port) \(.targetPort)"')" "$port http" \
	"the Service's http port goes to the container's"
is "$(kind Service | jq -r '.[0].spec.selector["app.kubernetes.io/name"]')" \
	"$(d '.spec.template.metadata.labels["app.kubernetes.io/name"]')" "the Service selects the pods"
is "$(kind ServiceMonitor | jq -r '.[0].spec.endpoints[0] | "\(.port) \(.path)"')" "http /metrics" \
	"the ServiceMonitor scrapes /metrics on the http port"
is "$(kind ServiceMonitor | jq -r '.[0].spec.selector.matchLabels["app.kubernetes.io/name"]')" \
	"$(kind Service | jq -r '.[0].metadata.labels["app.kubernetes.io/name"]')" "and selects the Service"

# Probes and endpoints that herald really serves: ask a running one.
start_herald
for p in /healthz /readyz /metrics; do
	api GET "$p"
	is "$STATUS" 200 "herald answers GET $p (without a token)"
done
stop_herald

# Secrets: each *_FILE variable names a file of the Secret's volume, and
# every key of the Secret is used.
smount=$(c '.volumeMounts[] | select(.name == "tokens") | .mountPath')
sname=$(d '.spec.template.spec.volumes[] | select(.name == "tokens") | .secret.secretName')
is "$sname" "$(kind Secret | jq -r '.[0].metadata.name')" "the tokens volume is the Secret"
keys=$(kind Secret | jq -r '.[0].stringData | keys[]' | sort | tr '\n' ' ')
files=$(c '.env[] | select(.name | endswith("_FILE")) | .value' | grep "^$smount/" | sed "s|^$smount/||" | sort | tr '\n' ' ')
is "$files" "$keys" "the *_FILE variables under $smount are exactly the Secret's keys ($keys)"
is "$(c '.env[] | select(.name | endswith("TOKEN")) | .name')" "" "no token as a plain variable"
ok "$([ -n "$(cenv HERALD_API_TOKEN_FILE)" ]; echo $?)" "HERALD_API_TOKEN_FILE is set: herald needs a token to listen beyond loopback"
unknown=""
for v in $(c '.env[].name'); do
	sed -n '/^## Summary/,$p' "$HERALD_SRC/docs/configuration.md" | grep -q "^| \`$v\` |" || unknown="$unknown $v"
done
is "$unknown" "" "every variable the Deployment sets is one herald knows"

# The ConfigMap: mounted where HERALD_CATALOG and the mapping file point.
cmount=$(c '.volumeMounts[] | select(.name == "config") | .mountPath')
is "$(d '.spec.template.spec.volumes[] | select(.name == "config") | .configMap.name')" \
	"$(kind ConfigMap | jq -r '.[0].metadata.name')" "the config volume is the ConfigMap"
cat_key=$(cenv HERALD_CATALOG | sed "s|^$cmount/||")
map_key=$(cenv NOTIFICATIONS_CHANNEL_MAPPING_FILE | sed "s|^$cmount/||")
is "$(kind ConfigMap | jq -r --arg a "$cat_key" --arg b "$map_key" '.[0].data | has($a) and has($b)')" true \
	"HERALD_CATALOG ($cat_key) and NOTIFICATIONS_CHANNEL_MAPPING_FILE ($map_key) are keys of the ConfigMap at $cmount"
mkdir -p "$T/cm" "$T/secrets"
kind ConfigMap | jq -r --arg k "$cat_key" '.[0].data[$k]' >"$T/cm/$cat_key"
kind ConfigMap | jq -r --arg k "$map_key" '.[0].data[$k]' >"$T/cm/$map_key"
for k in $keys; do kind Secret | jq -r --arg k "$k" '.[0].stringData[$k]' | tr -d '\n' >"$T/secrets/$k"; done
# herald config with the Deployment's environment, paths moved into $T.
envs=()
while IFS=$'\t' read -r n v; do
	v=${v/#$cmount\//$T/cm/}
	v=${v/#$smount\//$T/secrets/}
	envs+=("$n=$v")
done < <(c '.env[] | [.name, .value] | @tsv')
env "${envs[@]}" "$HERALD" config >"$T/config.out" 2>&1
rc=$?
is "$rc" 0 "herald config accepts the Deployment's environment, catalog and mapping"
[ "$rc" -eq 0 ] || tail -5 "$T/config.out" | sed 's/^/#   /'
like "$(cat "$T/config.out")" 'api' "and reads the ConfigMap's catalog"

# Security context and resources.
is "$(d '.spec.template.spec.securityContext | "\(.runAsNonRoot) \(.runAsUser > 0)"')" "true true" "pods run as non-root (runAsNonRoot, runAsUser > 0)"
is "$(c '.securityContext | "\(.allowPrivilegeEscalation) \(.readOnlyRootFilesystem) \(.capabilities.drop | join(","))"')" \
	"false true ALL" "no privilege escalation, read-only root, every capability dropped"
is "$(c '[.resources.requests.cpu, .resources.requests.memory, .resources.limits.memory] | map(. != null) | all')" true \
	"resources: cpu and memory requests, a memory limit"
like "$(grep -B3 'resources:' "$K8S/deployment.yaml")" 'MiB' "the numbers say what they are based on"

# --- the Containerfile ----------------------------------------------------------
CF="$HERALD_SRC/Containerfile"
is "$(grep -c '^FROM debian:12-slim' "$CF")" 2 "Containerfile: two stages, both FROM debian:12-slim"
like "$(grep '^FROM' "$CF" | head -1)" ' AS build$' "the first is the build stage"
like "$(sed -n '/^FROM debian:12-slim AS build/,/^FROM/p' "$CF")" 'meson setup' "which builds with meson"
runtime=$(sed -n '/^FROM debian:12-slim$/,$p' "$CF")
unlike "$runtime" '-dev\b' "the runtime stage installs no -dev package"
user=$(printf '%s\n' "$runtime" | sed -n 's/^USER \([^: ]*\).*/\1/p' | tail -1)
ok "$([ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ]; echo $?)" "it runs as a non-root USER ($user)"
like "$runtime" '^VOLUME /var/lib/herald$' "VOLUME /var/lib/herald"
like "$runtime" 'HERALD_DATABASE=/var/lib/herald/' "HERALD_DATABASE on the volume"
like "$runtime" 'HERALD_LISTEN=0\.0\.0\.0:8080' "HERALD_LISTEN=0.0.0.0:8080"
like "$runtime" '^EXPOSE 8080$' "EXPOSE 8080"
like "$(printf '%s\n' "$runtime" | sed -n '/^HEALTHCHECK/,/^[A-Z]/p')" '/readyz' "HEALTHCHECK on /readyz"
like "$(printf '%s\n' "$runtime" | grep 'apt-get install')" ' curl( |$)' "with curl, which the runtime stage installs"
like "$runtime" '^CMD \["serve"\]$' "runs herald serve"
for f in $(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' "$CF"); do
	[ -e "$HERALD_SRC/$f" ] || missing_copy="${missing_copy:-} $f"
done
is "${missing_copy:-}" "" "every path it COPYs from the context exists"

done_testing
