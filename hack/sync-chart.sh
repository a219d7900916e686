#!/usr/bin/env bash
# Copies the files the Helm chart embeds into charts/aimodel-operator/files/, because Helm
# cannot read files outside the chart directory:
#   crds/ai.openai.com_aimodels.yaml                  -> files/crd.yaml        (templates/crd.yaml)
#   deploy/grafana/aimodel-operator-dashboard.json   -> files/dashboard.json  (templates/grafana-dashboard.yaml)
#   deploy/prometheus/aimodel-operator-alerts.yaml   -> files/alerts.yaml     (templates/prometheusrule.yaml)
# and keeps Chart.yaml appVersion equal to package.json "version".
#
# Usage: hack/sync-chart.sh           copy what changed
#        hack/sync-chart.sh --check   change nothing; exit 1 if the chart is out of date (for CI)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/charts/aimodel-operator"
CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

status=0
sync_file() {
  local src="$ROOT/$1" dst="$CHART/$2"
  if [ ! -f "$src" ]; then
    echo "sync-chart: missing $1 (the chart needs it as $2)" >&2
    status=1
    return
  fi
  if cmp -s "$src" "$dst"; then
    return
  fi
  if [ "$CHECK" = 1 ]; then
    echo "sync-chart: charts/aimodel-operator/$2 differs from $1; run hack/sync-chart.sh" >&2
    status=1
  else
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$dst"
    echo "sync-chart: updated charts/aimodel-operator/$2 from $1"
  fi
}

sync_file crds/ai.openai.com_aimodels.yaml files/crd.yaml
sync_file deploy/grafana/aimodel-operator-dashboard.json files/dashboard.json
sync_file deploy/prometheus/aimodel-operator-alerts.yaml files/alerts.yaml

# appVersion must equal the package version (the image tag defaults to it).
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json" | head -n1)"
app_version="$(sed -n 's/^appVersion: "\(.*\)"$/\1/p' "$CHART/Chart.yaml")"
if [ -z "$version" ]; then
  echo "sync-chart: cannot read \"version\" from package.json" >&2
  status=1
elif [ "$version" != "$app_version" ]; then
  if [ "$CHECK" = 1 ]; then
    echo "sync-chart: Chart.yaml appVersion \"$app_version\" differs from package.json version \"$version\"; run hack/sync-chart.sh" >&2
    status=1
  else
    sed -i "s/^appVersion: .*/appVersion: \"$version\"/" "$CHART/Chart.yaml"
    echo "sync-chart: set Chart.yaml appVersion to \"$version\" (bump the chart version too)"
  fi
fi

exit "$status"
