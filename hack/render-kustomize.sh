#!/usr/bin/env bash
# Renders config/ (kustomize: crd, rbac, manager, default) from the Helm chart with its default
# values, so `kubectl apply -k config/default` installs what `helm install` installs by default.
# Syncs the chart's embedded files first (hack/sync-chart.sh).
#
# Usage: hack/render-kustomize.sh           rewrite config/{crd,rbac,manager,default}
#        hack/render-kustomize.sh --check   change nothing; exit 1 if the chart or config/ is stale
# Needs helm (PATH, $HELM, or the one hack/build-components.sh builds) and Node >= 22.18.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${AIMODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aimodel-operator}"
MODE=()
case "${1:-}" in
  --check) MODE=(--check) ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

HELM="${HELM:-}"
if [ -z "$HELM" ]; then
  if [ -x "$CACHE/bin/helm" ]; then HELM="$CACHE/bin/helm"
  elif command -v helm >/dev/null 2>&1; then HELM="$(command -v helm)"
  else
    echo "render-kustomize: helm not found; run 'bash hack/build-components.sh helm' or set HELM" >&2
    exit 1
  fi
fi

# Node that runs TypeScript directly: the project's pinned node (devDependency) first.
NODE="$ROOT/node_modules/.bin/node"
[ -x "$NODE" ] || NODE="$(command -v node)"

"$ROOT/hack/sync-chart.sh" "${MODE[@]}"
exec "$NODE" "$ROOT/hack/render-kustomize.ts" "${MODE[@]}" --helm "$HELM"
