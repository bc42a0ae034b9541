#!/usr/bin/env bash
# Checks are passed as commands to check/wait_for (shellcheck sees them as
# unreachable: SC2317), and some are strings eval'd later (SC2016).
# shellcheck disable=SC2317,SC2016,SC2001
# End-to-end test of exo-controller on the sandbox cluster (e2e/sandbox +
# the process kubelet), and at the same time the GitOps path: the checked-in
# manifests/ applied with the real `kubectl apply --server-side`, the
# Secrets made with kubectl, no exo-install anywhere.
#
#   e2e/controller_test.sh            (needs root, kubectl, curl, openssl)
#
# Asserts: Stalled=True while the Secrets are missing; ExoControlPlane
# Ready=True within a bound; the backend's /readyz through its pod IP;
# `kubectl get exocontrolplanes` shows READY, REPLICAS, AGE; the backend
# pod's spec (restricted security context, Secret references, Recreate,
# checksum); killing the backend process brings it back; deleting the
# Deployment brings it back; changing spec.backend.replicas or the image
# rolls it, and replicas > 1 on the ReadWriteOnce casts volume is refused
# in the status; changing a Secret rolls it (checksum annotation); two
# controller processes (the second out of cluster with --kubeconfig) give
# one leader, and failover when the leader dies (SIGKILL, no release) and
# when it stops (SIGTERM, released); no Secret value in status, Events or
# logs; deleting the ExoControlPlane removes the backend and keeps the PVCs
# and their data. Everything started is stopped, even on failure.
#
# EXO_E2E_NET=N picks the kubelet's bridge and pod subnet (see
# e2e/kubelet/run.sh), so this can run beside another sandbox.
# EXO_BUILD_DIR (default build/) holds exo-backend and exo-controller;
# EXO_CONTROLLER_BIN / EXO_BACKEND_BIN name other binaries (e.g. the
# sanitizer build's controller: its reports would fail the last checks).
# Ends with "N passed, M failed"; exit status 0 only when nothing failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${EXO_BUILD_DIR:-$root/build}
backend=${EXO_BACKEND_BIN:-$build/backend/exo-backend}
controller=${EXO_CONTROLLER_BIN:-$build/controller/exo-controller}
net=${EXO_E2E_NET:-0}
dir=$(mktemp -d /tmp/controller-e2e.XXXXXX)
passed=0 failed=0
standby_pid=""
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
stopped=0
stop_all() {
  [ "$stopped" = 1 ] && return; stopped=1
  if [ -n "$standby_pid" ] && kill -0 "$standby_pid" 2>/dev/null; then
    kill -TERM "$standby_pid"; sleep 1; kill -KILL "$standby_pid" 2>/dev/null
  fi
  "$root/e2e/kubelet/stop.sh" "$dir" >/dev/null 2>&1
  "$root/e2e/sandbox/down.sh" "$dir" >/dev/null 2>&1
}
finish() {
  stop_all
  echo "$passed passed, $failed failed"
  if [ "$failed" = 0 ]; then rm -rf "$dir"; else echo "logs kept in $dir"; fi
  [ "$failed" = 0 ]
  exit $?
}
abort() {
  bad "$*"
  echo "--- kubelet.log (end)"; tail -n 30 "$dir/kubelet.log" 2>/dev/null
  for f in "$dir"/pods/*/*.log "$dir/standby.log"; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f" | cut -c1-400; }
  done
  k -n exo get exocontrolplane exo -o yaml 2>/dev/null | sed -n '/^status:/,$p'
  finish
}
trap 'stop_all' EXIT
for bin in "$backend" "$controller"; do
  [ -x "$bin" ] || { echo "missing $bin: build first (cmake --build build)"; exit 1; }
done

kc=$("$root/e2e/sandbox/up.sh" "$dir" 2>"$dir/up.log") || abort "sandbox up (see $dir/up.log)"
ok "sandbox up in $dir"
k() { kubectl --kubeconfig "$kc" --request-timeout=30s "$@"; }
"$root/e2e/kubelet/run.sh" "$dir" --backend "$backend" --controller "$controller" 2>/dev/null \
  || abort "kubelet start"
k wait --for=condition=Ready node/sandbox-node --timeout=60s >/dev/null || abort "node Ready"
ok "kubelet up, node Ready"

# --- GitOps: the manifests as they are checked in --------------------------
# CRDs first, as Argo CD and Flux do, then the resource of the new kind.
for f in "$root"/manifests/0*.yaml; do
  case $f in *exocontrolplane-*) continue ;; esac
  k apply --server-side -f "$f" >/dev/null || abort "kubectl apply --server-side -f $f"
done
k wait --for=condition=Established crd/exocontrolplanes.exo.dev --timeout=30s >/dev/null \
  || abort "CRD Established"
k apply --server-side -f "$root"/manifests/*-exocontrolplane-*.yaml >/dev/null \
  || abort "apply the ExoControlPlane"
ok "manifests/ applied server-side with kubectl"

# condition TYPE of exocontrolplane/exo, as "Status/Reason"
cond() { k -n exo get exocontrolplane exo -o jsonpath="{.status.conditions[?(@.type==\"$1\")].status}/{.status.conditions[?(@.type==\"$1\")].reason}" 2>/dev/null; }
wait_for() {  # wait_for SECONDS CMD...: until CMD succeeds
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 1; done
}
is() { [ "$(eval "$1")" = "$2" ]; }

wait_for 90 is "cond Stalled" "True/SecretNotFound" \
  || abort "Stalled=True/SecretNotFound before the Secrets exist (got $(cond Stalled))"
ok "without its Secrets: Stalled=True, reason SecretNotFound (refused in the status)"
check "no backend Deployment made meanwhile" sh -c "! kubectl --kubeconfig '$kc' -n exo get deploy exo-backend >/dev/null 2>&1"

password=$(openssl rand -base64 24 | tr '+/' '-_' | tr -d '=')
dsn="host=exo-postgres.exo.svc port=5432 user=exo password=$password dbname=exo sslmode=disable"
k -n exo create secret generic exo-postgres --from-literal=password="$password" >/dev/null || abort "secret exo-postgres"
k -n exo create secret generic exo-database --from-literal=dsn="$dsn" >/dev/null || abort "secret exo-database"
k -n exo create secret generic exo-encryption --from-literal=key="$(openssl rand -base64 32)" >/dev/null \
  || abort "secret exo-encryption"
k -n exo create secret generic exo-bootstrap \
  --from-literal=token="$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=')" >/dev/null || abort "secret exo-bootstrap"
ok "Secrets exo-postgres, exo-database, exo-encryption, exo-bootstrap created with kubectl"
# The secrets audit (e2e/audit/secrets_audit.py): the Secrets' values, Events,
# status and pod logs are harvested now and then; the end looks for the
# values in everything the run wrote.
audit() { python3 "$root/e2e/audit/secrets_audit.py" --kubeconfig "$kc" --work "$dir/audit" "$@"; }
audit harvest || bad "secrets audit: harvest"

start=$SECONDS
k -n exo wait --for=condition=Ready exocontrolplane/exo --timeout=240s >/dev/null \
  || abort "ExoControlPlane Ready=True within 240 s"
ok "ExoControlPlane Ready=True $((SECONDS - start)) s after the Secrets"
check "Stalled=False, Reconciling=False, DatabaseConfigured=True, BackendAvailable=True" \
  is 'echo "$(cond Stalled) $(cond Reconciling) $(cond DatabaseConfigured) $(cond BackendAvailable)"' \
  "False/Reconciled False/Reconciled True/SecretFound True/ReplicasReady"
gen=$(k -n exo get exocontrolplane exo -o jsonpath='{.metadata.generation}')
check "status.observedGeneration = metadata.generation ($gen)" \
  is "k -n exo get exocontrolplane exo -o jsonpath='{.status.observedGeneration}'" "$gen"

backend_pod() { k -n exo get pods -l app.kubernetes.io/name=exo-backend --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}' 2>/dev/null; }
readyz() {  # readyz: the backend pod's /readyz through its pod IP
  local ip
  ip=$(k -n exo get pod "$(backend_pod)" -o jsonpath='{.status.podIP}' 2>/dev/null) || return 1
  [ -n "$ip" ] && [ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$ip:8080/readyz")" = 200 ]
}
check "backend /readyz answers 200 through its pod IP" wait_for 30 readyz
table=$(k -n exo get exocontrolplanes)
echo "$table" | sed 's/^/       /'
check "kubectl get exocontrolplanes: READY REPLICAS AGE header" \
  sh -c "echo '$table' | head -1 | grep -Eq '^NAME +READY +REPLICAS +AGE'"
check "kubectl get exocontrolplanes: exo True 1" sh -c "echo '$table' | grep -Eq '^exo +True +1 '"

# --- what the controller made ------------------------------------------------
dj=$(k -n exo get deploy exo-backend -o json)
# py EXPR: EXPR (Python, over the Deployment as d, its pod spec as p and
# first container as c) is true.
py() {
  python3 -c "import json,sys
d = json.load(sys.stdin); p = d['spec']['template']['spec']; c = p['containers'][0]
env = {e['name']: e for e in c['env']}
sys.exit(0 if ($1) else 1)" <<<"$dj"
}
check "restricted: runAsNonRoot, uid/gid/fsGroup 65532, seccomp RuntimeDefault" \
  py "p['securityContext'] == {'runAsNonRoot': True, 'runAsUser': 65532, 'runAsGroup': 65532, 'fsGroup': 65532, 'seccompProfile': {'type': 'RuntimeDefault'}}"
check "restricted: drop ALL, no privilege escalation, read-only root" \
  py "c['securityContext'] == {'allowPrivilegeEscalation': False, 'readOnlyRootFilesystem': True, 'runAsNonRoot': True, 'capabilities': {'drop': ['ALL']}}"
check "command exo-backend serve" py "c['command'] == ['/usr/local/bin/exo-backend', 'serve']"
check "EXO_DATABASE_DSN, EXO_ENCRYPTION_KEY, EXO_BOOTSTRAP_TOKEN from their Secrets, no value inline" \
  py "[env[n]['valueFrom']['secretKeyRef'] for n in ('EXO_DATABASE_DSN', 'EXO_ENCRYPTION_KEY', 'EXO_BOOTSTRAP_TOKEN')] == [{'name': 'exo-database', 'key': 'dsn'}, {'name': 'exo-encryption', 'key': 'key'}, {'name': 'exo-bootstrap', 'key': 'token'}] and all('value' not in env[n] for n in ('EXO_DATABASE_DSN', 'EXO_ENCRYPTION_KEY'))"
check "pool, retention and casts settings as env" \
  py "[env[n]['value'] for n in ('EXO_DB_MAX_OPEN_CONNS', 'EXO_DB_MAX_IDLE_CONNS', 'EXO_RETENTION_DAYS', 'EXO_PARTITION_PREMAKE', 'EXO_MAINTENANCE_INTERVAL', 'EXO_CAST_MAX_BYTES')] == ['100', '10', '90', '3', '24h', '67108864']"
check "probes /healthz and /readyz" \
  py "(c['livenessProbe']['httpGet']['path'], c['readinessProbe']['httpGet']['path']) == ('/healthz', '/readyz')"
check "casts PVC exo-casts mounted at /var/lib/exo/casts" \
  py "[v['persistentVolumeClaim']['claimName'] for v in p['volumes'] if v['name'] == 'casts'] == ['exo-casts'] and [m['mountPath'] for m in c['volumeMounts'] if m['name'] == 'casts'] == ['/var/lib/exo/casts']"
check "resources from spec.backend.resources" py "c['resources']['limits']['memory'] == '512Mi'"
check "strategy Recreate (ReadWriteOnce casts volume)" py "d['spec']['strategy']['type'] == 'Recreate'"
check "owned by the ExoControlPlane (controller, blockOwnerDeletion)" \
  py "[(r['kind'], r['controller'], r['blockOwnerDeletion']) for r in d['metadata']['ownerReferences']] == [('ExoControlPlane', True, True)]"
sum1=$(k -n exo get deploy exo-backend -o jsonpath='{.spec.template.metadata.annotations.exo\.dev/config-checksum}')
check "checksum annotation is a SHA-256 ($sum1)" sh -c "echo '$sum1' | grep -Eq '^sha256:[0-9a-f]{64}$'"
check "Service exo-backend selects the backend on 8080" \
  is "k -n exo get svc exo-backend -o jsonpath='{.spec.ports[0].port}'" 8080
nevents=$(k -n exo get events --field-selector involvedObject.kind=ExoControlPlane -o name | wc -l)
check "Events recorded on the ExoControlPlane ($nevents)" test "$nevents" -ge 3

# --- self-healing -------------------------------------------------------------
bpid=$(grep -o "exo/exo-backend-[a-z0-9-]* backend started pid [0-9]*" "$dir/kubelet.log" | tail -1 | awk '{print $NF}')
restarts() { k -n exo get pod "$(backend_pod)" -o jsonpath='{.status.containerStatuses[0].restartCount}' 2>/dev/null; }
r0=$(restarts)
kill -KILL "$bpid" 2>/dev/null || abort "kill backend pid $bpid"
back_up() { [ "$(restarts)" -gt "$r0" ] 2>/dev/null && readyz; }
check "killing the backend process (pid $bpid) brings it back" wait_for 120 back_up
ready_within() { k -n exo wait --for=condition=Ready exocontrolplane/exo --timeout="$1s" >/dev/null; }
check "and the ExoControlPlane is Ready again" ready_within 120

uid0=$(k -n exo get deploy exo-backend -o jsonpath='{.metadata.uid}')
k -n exo delete deploy exo-backend --wait=true --timeout=60s >/dev/null
new_deploy() { local u; u=$(k -n exo get deploy exo-backend -o jsonpath='{.metadata.uid}' 2>/dev/null); [ -n "$u" ] && [ "$u" != "$uid0" ]; }
check "deleting the Deployment brings it back" wait_for 30 new_deploy
check "and Ready again" ready_within 180
k -n exo set image deploy/exo-backend backend=example.com/not-exo:1 >/dev/null
check "a hand edit of the Deployment's image is put right" wait_for 20 \
  is "k -n exo get deploy exo-backend -o jsonpath='{.spec.template.spec.containers[0].image}'" \
  "$(k -n exo get exocontrolplane exo -o jsonpath='{.spec.backend.image}')"

# --- changes roll it -----------------------------------------------------------
ecp_patch() { k -n exo patch exocontrolplane exo --type=merge -p "$1" >/dev/null; }
rolled_to() {  # the Deployment is rolled out with $1 = jsonpath value $2 and the resource Ready
  [ "$(k -n exo get deploy exo-backend -o jsonpath="$1")" = "$2" ] &&
    [ "$(cond Ready)" = "True/Ready" ] &&
    [ "$(k -n exo get exocontrolplane exo -o jsonpath='{.status.observedGeneration}')" = \
      "$(k -n exo get exocontrolplane exo -o jsonpath='{.metadata.generation}')" ]
}
ecp_patch '{"spec":{"backend":{"replicas":0}}}'
check "spec.backend.replicas 0: Deployment scaled to 0, Ready (ScaledToZero)" \
  wait_for 90 rolled_to '{.status.replicas}/{.spec.replicas}' "/0"
ecp_patch '{"spec":{"backend":{"replicas":2}}}'
check "spec.backend.replicas 2 on a ReadWriteOnce volume: Stalled=True, VolumeNotShareable" \
  wait_for 30 is "cond Stalled" "True/VolumeNotShareable"
check "and the Deployment is left at 0 replicas" \
  is "k -n exo get deploy exo-backend -o jsonpath='{.spec.replicas}'" 0
ecp_patch '{"spec":{"backend":{"replicas":1}}}'
check "spec.backend.replicas 1: rolled back up, Ready" \
  wait_for 180 rolled_to '{.status.readyReplicas}/{.spec.replicas}' "1/1"
rs0=$(k -n exo get deploy exo-backend -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')
ecp_patch '{"spec":{"backend":{"image":"ghcr.io/exo-dev/exo-backend:0.1.1"}}}'
check "a new image rolls it (new revision, Ready)" \
  wait_for 180 rolled_to '{.spec.template.spec.containers[0].image}/{.status.updatedReplicas}/{.status.readyReplicas}' \
  "ghcr.io/exo-dev/exo-backend:0.1.1/1/1"
check "revision moved on from $rs0" sh -c "[ \"\$(kubectl --kubeconfig '$kc' -n exo get deploy exo-backend -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')\" -gt '$rs0' ]"
readyz || wait_for 30 readyz

pod_before=$(backend_pod)
k -n exo create secret generic exo-database --from-literal=dsn="$dsn connect_timeout=10" \
  --dry-run=client -o yaml | k apply --server-side --force-conflicts -f - >/dev/null
sum_changed() { s=$(k -n exo get deploy exo-backend -o jsonpath='{.spec.template.metadata.annotations.exo\.dev/config-checksum}'); [ -n "$s" ] && [ "$s" != "$sum1" ]; }
check "changing Secret exo-database changes the checksum annotation" wait_for 30 sum_changed
new_pod_ready() { p=$(backend_pod); [ -n "$p" ] && [ "$p" != "$pod_before" ] && readyz && [ "$(cond Ready)" = "True/Ready" ]; }
check "and rolls the backend (new pod $pod_before -> ...), Ready" wait_for 180 new_pod_ready

# --- nothing secret anywhere ---------------------------------------------------
audit harvest || bad "secrets audit: harvest"
leak() {
  { k -n exo get exocontrolplane exo -o yaml; k -n exo get events -o yaml; k -n exo get deploy exo-backend -o yaml
    cat "$dir"/pods/exo_exo-controller-*/controller.log; } 2>/dev/null | grep -c -- "$password"
}
check "the database password is in no status, Event, Deployment or controller log" is leak 0

# --- leader election -----------------------------------------------------------
holder() { k -n exo get lease exo-controller -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
ctl_pod=$(k -n exo get pods -l app.kubernetes.io/name=exo-controller -o jsonpath='{.items[0].metadata.name}')
check "the in-cluster controller $ctl_pod holds Lease exo-controller" is holder "$ctl_pod"
hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
POD_NAME=e2e-standby setsid "$controller" --kubeconfig "$kc" --namespace exo --leader-elect \
  --health-addr "127.0.0.1:$hport" >"$dir/standby.log" 2>&1 </dev/null &
standby_pid=$!
metric() { curl -s -m 2 "http://127.0.0.1:$hport/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
check "a second controller out of cluster (--kubeconfig) stands by: /readyz 200" \
  wait_for 15 is "curl -s -m 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:$hport/readyz" 200
sleep 5
check "it is not leader (exo_controller_leader 0) and the holder is unchanged" \
  is 'echo "$(metric exo_controller_leader) $(holder)"' "0 $ctl_pod"

# The leader dies without releasing the Lease: SIGKILL, and the Deployment
# scaled to 0 so that the kubelet does not start it again.
cpid=$(grep -o "exo/$ctl_pod controller started pid [0-9]*" "$dir/kubelet.log" | tail -1 | awk '{print $NF}')
kill -KILL "$cpid" 2>/dev/null
k -n exo scale deploy exo-controller --replicas=0 >/dev/null
t0=$SECONDS
check "leader killed (pid $cpid): the standby takes the Lease once it expires" wait_for 45 is holder e2e-standby
echo "       (failover after $((SECONDS - t0)) s; lease duration 15 s)"
check "the new leader says so (exo_controller_leader 1)" wait_for 10 is "metric exo_controller_leader" 1
uid1=$(k -n exo get deploy exo-backend -o jsonpath='{.metadata.uid}')
k -n exo delete deploy exo-backend --wait=true --timeout=60s >/dev/null
uid0=$uid1
check "and reconciles: a deleted Deployment comes back" wait_for 30 new_deploy
k -n exo scale deploy exo-controller --replicas=1 >/dev/null
k -n exo wait --for=condition=Ready pod -l app.kubernetes.io/name=exo-controller --timeout=90s >/dev/null 2>&1
ctl_pod2=$(k -n exo get pods -l app.kubernetes.io/name=exo-controller --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')
sleep 4
check "a new in-cluster controller ($ctl_pod2) is Ready yet does not take a held Lease" is holder e2e-standby
kill -TERM "$standby_pid"
t0=$SECONDS
check "the out-of-cluster leader exits cleanly on SIGTERM" wait_for 10 sh -c "! kill -0 $standby_pid 2>/dev/null"
check "it released the Lease: $ctl_pod2 takes over at once" wait_for 10 is holder "$ctl_pod2"
echo "       (handover after $((SECONDS - t0)) s)"
check "the standby's log says it released the lease" grep -q '"released the lease"' "$dir/standby.log"
standby_pid=""

# Another process takes the Lease (as after a partition): the leader must
# stop reconciling. It exits (status 1, as controller-runtime does), the
# kubelet restarts it, and it leads again once the intruder's Lease expires.
ctl_restarts() { k -n exo get pod "$ctl_pod2" -o jsonpath='{.status.containerStatuses[0].restartCount}'; }
r0=$(ctl_restarts)
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
k -n exo patch lease exo-controller --type=merge \
  -p "{\"spec\":{\"holderIdentity\":\"intruder\",\"renewTime\":\"$now\"}}" >/dev/null
lost() { grep -q '"leader election lost' "$dir"/pods/exo_"$ctl_pod2"_*/controller.log 2>/dev/null; }
check "a leader that finds the Lease taken stops: exits with \"leader election lost\"" wait_for 15 lost
check "the kubelet restarts it and it leads again after the intruder's lease expires" \
  wait_for 60 sh -c "[ \"\$(kubectl --kubeconfig '$kc' -n exo get lease exo-controller -o jsonpath='{.spec.holderIdentity}')\" = '$ctl_pod2' ]"
check "(restart count went up)" test "$(ctl_restarts)" -gt "$r0"

# --- a GitOps sync again: manifests/ holds no Secret, so it touches none --------
secret_versions() {
  k -n exo get secret exo-postgres exo-database exo-encryption exo-bootstrap \
    -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}'
}
before=$(secret_versions)
# --force-conflicts as Argo CD's and Flux's server-side syncs do: the test
# patched the ExoControlPlane by hand above, and a sync puts Git's back.
for f in "$root"/manifests/0*.yaml; do
  k apply --server-side --force-conflicts -f "$f" >/dev/null || bad "re-apply $f"
done
check "re-applying manifests/ (a sync) leaves the four Secrets made out of band untouched" \
  is secret_versions "$before"
check "manifests/ holds no Secret" sh -c "! grep -l '^kind: Secret' '$root'/manifests/*.yaml"

# --- deleting the resource -----------------------------------------------------
audit harvest || bad "secrets audit: harvest"
castsdir=$(k get pv "$(k -n exo get pvc exo-casts -o jsonpath='{.spec.volumeName}')" -o jsonpath='{.spec.hostPath.path}')
echo kept >"$castsdir/e2e-marker"
k -n exo delete exocontrolplane exo --timeout=60s >/dev/null || bad "delete exocontrolplane exo"
gone() { ! k -n exo get deploy exo-backend >/dev/null 2>&1 && ! k -n exo get svc exo-backend >/dev/null 2>&1; }
check "deleting the ExoControlPlane removes the backend Deployment and Service" wait_for 60 gone
check "the casts PVC stays Bound" is "k -n exo get pvc exo-casts -o jsonpath='{.status.phase}'" Bound
check "and its data stays" test "$(cat "$castsdir/e2e-marker" 2>/dev/null)" = kept
check "the database (StatefulSet exo-postgres, PVC data-exo-postgres-0) stays" \
  is "k -n exo get pvc data-exo-postgres-0 -o jsonpath='{.status.phase}'" Bound

# --- stop everything, leave nothing -------------------------------------------
pids=$(grep -o "started pid [0-9]*" "$dir/kubelet.log" | awk '{print $NF}')
kpid=$(cat "$dir/kubelet.pid")
stop_all
clean_logs() {  # the one error expected is the lost Lease above
  ! cat "$dir"/pods/exo_exo-controller-*/controller.log "$dir/standby.log" 2>/dev/null |
    grep -v 'leader election lost' | grep -q -E 'AddressSanitizer|LeakSanitizer|runtime error:|"level":"error"'
}
check "no sanitizer report or error in any controller log" clean_logs
check "secrets audit: no Secret value in any log, Event, status or error of the run" \
  audit scan "$dir"
left=""
for p in $kpid $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check "no kubelet, container or controller process left${left:+ (left:$left)}" test -z "$left"
prefix=exopod-; [ "$net" = 0 ] || prefix=exopod$net-
check "no pod network namespace left" test -z "$(ip netns list | grep "^$prefix")"
finish
