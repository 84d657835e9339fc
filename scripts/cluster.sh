#!/usr/bin/env bash
# One command from a fresh machine to a running cluster: installs the Debian
# packages skiff uses (when root and missing), the pinned Node.js and npm
# dependencies, then starts `skiff server` in the foreground with its data in
# ./.skiff and prints how to point kubectl at it.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the local node agent needs: an OCI runtime, iproute2 for pod networks,
# busybox for the pod sandbox, python3 for the containers' log shims, attr for
# image layers' overlay whiteouts, nftables and conntrack for the service proxy.
packages=(ca-certificates runc crun iproute2 busybox-static python3 attr nftables conntrack)
if [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi
[ -x node_modules/.bin/node ] || npm ci
data="${SKIFF_DATA_DIR:-$PWD/.skiff}"
echo "Starting skiff server (data: $data). When it is ready:"
echo "  export KUBECONFIG=$data/kubeconfig.yaml"
echo "  kubectl get nodes,namespaces"
exec bin/skiff server --data-dir "$data" "$@"
