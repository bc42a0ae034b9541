#!/usr/bin/env bash
# provisioner.sh NODEDIR — the node's dynamic provisioner for StorageClass
# `standard` (exo.node/local-dir, the default class): every 2 s, a Pending
# claim of that class gets a directory NODEDIR/volumes/pvc-UID and a `local`
# PersistentVolume pre-bound to it (the kubelet applies fsGroup to local
# volumes; it does not to hostPath ones); a Released volume is deleted with
# its directory. Runs until killed (down.sh).
set -uo pipefail
nd=$1
kc=(kubectl --kubeconfig "$(dirname "$nd")/kubeconfig" --request-timeout=10s)
mkdir -p "$nd/volumes"
while sleep 2; do
  "${kc[@]}" get pvc -A -o jsonpath='{range .items[?(@.status.phase=="Pending")]}{.metadata.namespace} {.metadata.name} {.metadata.uid} {.spec.storageClassName} {.spec.resources.requests.storage} {.spec.accessModes[0]} {.spec.volumeName}{"\n"}{end}' 2>/dev/null |
    while read -r ns name uid class size mode volume; do
      if [ "$class" != standard ] || [ -n "$volume" ]; then continue; fi
      "${kc[@]}" get pv "pvc-$uid" >/dev/null 2>&1 && continue
      mkdir -p "$nd/volumes/pvc-$uid"
      "${kc[@]}" create -f - <<EOT && echo "provisioned pvc-$uid for $ns/$name"
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pvc-$uid
  annotations: {pv.kubernetes.io/provisioned-by: exo.node/local-dir}
spec:
  capacity: {storage: $size}
  accessModes: [$mode]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: standard
  claimRef: {namespace: $ns, name: $name, uid: $uid}
  local: {path: $nd/volumes/pvc-$uid}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [sandbox-node]}]
EOT
    done
  "${kc[@]}" get pv -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name} {.metadata.annotations.pv\.kubernetes\.io/provisioned-by}{"\n"}{end}' 2>/dev/null |
    while read -r pv by; do
      [ "$by" = exo.node/local-dir ] || continue
      rm -rf "${nd:?}/volumes/$pv"
      "${kc[@]}" delete pv "$pv" --wait=false >/dev/null && echo "deleted $pv"
    done
done
