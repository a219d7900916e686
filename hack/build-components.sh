#!/usr/bin/env bash
# Builds the pinned control-plane components (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, kwok, helm), the metrics pipeline (metrics-server; KEDA's operator
# and metrics adapter) and the tests' kstatus checker from source through the Go module proxy.
#
# Each component is pinned by a wrapper Go module under hack/components/<name> (go.mod and
# go.sum committed). Binaries land in $AIMODEL_CACHE/<name>-<version>-<pinhash>/bin and are
# rebuilt only when the wrapper module (the pin) or the Go version changes. A symlink farm in
# $AIMODEL_CACHE/bin points at the current set so callers need one directory on PATH.
#
# Usage: hack/build-components.sh [component...]   (default: all; LocalCluster asks only for what
# it starts, so KEDA's minutes-long build happens when a cluster with KEDA is first wanted)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${AIMODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aimodel-operator}"
COMPONENTS_DIR="$ROOT/hack/components"
START=$SECONDS

say() { printf '[components %4ss] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.26 on PATH, e.g. /usr/local/go/bin). The local control plane is built from source with it."
export PATH="$PATH:$(go env GOROOT)/bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
GO_VERSION="$(go env GOVERSION)"

mkdir -p "$CACHE/bin"

# Writes stdin to a file at once (rename), so a cluster starting meanwhile never reads half of it.
write_atomically() { local tmp; tmp="$(mktemp "$1.XXXXXX")"; cat >"$tmp"; chmod 644 "$tmp"; mv -f "$tmp" "$1"; }
free_mb=$(df -Pm "$CACHE" | awk 'NR==2 {print $4}')
# A cold build of the Kubernetes binaries needs about 6 GiB of module and build cache.
[ "${free_mb:-0}" -ge 6000 ] || die "only ${free_mb} MiB free under $CACHE; the first build needs about 6 GiB (set AIMODEL_CACHE to a roomier disk)."

proxy_checked=0
check_proxy() {
  [ "$proxy_checked" = 1 ] && return
  local proxy; proxy="$(go env GOPROXY | cut -d, -f1)"
  if [[ "$proxy" == http* ]] && ! curl -fsS --max-time 20 -o /dev/null "$proxy/k8s.io/api/@v/list"; then
    die "the Go module proxy ($proxy) is unreachable; the components are built from modules it serves."
  fi
  proxy_checked=1
}

# Prints the value of the component's pinned module version from its go.mod require line.
pinned_version() { awk -v m="$2" '$1 == m || $1 == "require" && $2 == m { print ($1 == m ? $2 : $3); exit }' "$COMPONENTS_DIR/$1/go.mod"; }

# BIN_PREFIX=<p> build ...: binaries are named <p><package name> (KEDA's are "operator" and "adapter",
# too generic for the shared bin directory).
build() {
  local name=$1 module=$2 ldflags=$3; shift 3
  local dir="$COMPONENTS_DIR/$name" version pinhash out prefix="${BIN_PREFIX:-}"
  version="$(pinned_version "$name" "$module")"
  # A wrapper with a program of its own (kstatus) is pinned by its sources too.
  pinhash="$( (cat "$dir/go.mod" "$dir/go.sum"; for src in "$dir"/*.go; do if [ -f "$src" ]; then cat "$src"; fi; done
               echo "$GO_VERSION $ldflags ${prefix:+$prefix }$*") | sha256sum | cut -c1-12)"
  out="$CACHE/$name-$version-$pinhash"
  # One build of a component at a time: a second caller (parallel test runs, a cluster starting
  # while `npm run components` runs) waits for it, then finds the result cached. Other components
  # stay available meanwhile (a cluster without KEDA need not wait for KEDA's build).
  local lock; exec {lock}>"$CACHE/.$name.lock"
  if [ ! -f "$out/.complete" ] && ! flock -n "$lock"; then
    say "$name $version: another process is building it; waiting"
    flock "$lock"
  fi
  if [ -f "$out/.complete" ]; then
    say "$name $version: cached in $out"
  else
    check_proxy
    say "$name $version: building $* (first build takes minutes)"
    local t0=$SECONDS log="$CACHE/$name-build.log"
    # Built aside and moved into place whole: a build killed halfway leaves nothing that looks done.
    local staging="$out/bin.building.$$"
    rm -rf "$out/bin" "$staging"; mkdir -p "$staging"
    # Progress: the go command is silent while compiling, so report elapsed time periodically.
    ( while sleep 30; do say "$name $version: still building ($((SECONDS - t0))s)"; done ) &
    local ticker=$!
    # A single package is named after the component (go would name etcd's "server").
    local target="$staging/"; [ $# -eq 1 ] && target="$staging/$name"
    if ! (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$target" "$@") >"$log" 2>&1; then
      kill "$ticker" 2>/dev/null || true
      rm -rf "$staging"
      tail -n 40 "$log" >&2
      if grep -qi "no space left" "$log"; then die "disk full while building $name"; fi
      die "building $name failed; full log: $log"
    fi
    kill "$ticker" 2>/dev/null || true
    if [ -n "$prefix" ]; then
      for bin in "$staging"/*; do mv "$bin" "$staging/$prefix$(basename "$bin")"; done
    fi
    mv "$staging" "$out/bin"
    touch "$out/.complete"
    say "$name $version: built in $((SECONDS - t0))s"
  fi
  exec {lock}>&-
  for bin in "$out"/bin/*; do ln -sfn "$bin" "$CACHE/bin/$(basename "$bin")"; done
}

k8s_version="$(pinned_version kubernetes k8s.io/kubernetes)"
k8s_minor="${k8s_version#v1.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
etcd_version="$(pinned_version etcd go.etcd.io/etcd/server/v3)"
kwok_version="$(pinned_version kwok sigs.k8s.io/kwok)"
helm_version="$(pinned_version helm helm.sh/helm/v3)"
metrics_server_version="$(pinned_version metrics-server sigs.k8s.io/metrics-server)"
keda_version="$(pinned_version keda github.com/kedacore/keda/v2)"

wanted=("$@"); [ ${#wanted[@]} -eq 0 ] && wanted=(etcd kwok helm kstatus kubernetes metrics-server keda)
for c in "${wanted[@]}"; do
  case "$c" in
    etcd) build etcd go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_version" go.etcd.io/etcd/server/v3 ;;
    kwok) build kwok sigs.k8s.io/kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version" sigs.k8s.io/kwok/cmd/kwok
          # kwok v0.8 has no built-in stages: take the pinned release's own stage files (nodes
          # become Ready and keep a heartbeat; pods become Ready, complete and get deleted), plus
          # its opt-in chaos stage that fails containers of pods labelled for it.
          stages_src="$(cd "$COMPONENTS_DIR/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
          mkdir -p "$CACHE/share"
          for f in node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete \
                   pod/fast/pod-delete pod/chaos/pod-container-running-failed; do
            cat "$stages_src/$f.yaml"; echo "---"
          done | write_atomically "$CACHE/share/kwok-stages.yaml"
          # The release's simulated resource usage (CPU and memory of each pod from its annotations
          # kwok.x-k8s.io/usage-cpu and usage-memory) and the kubelet resource-metrics endpoint that
          # metrics-server scrapes, from the same pinned module.
          metrics_src="$(cd "$COMPONENTS_DIR/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/metrics"
          for f in usage/usage-from-annotation resource/metrics-resource; do
            cat "$metrics_src/$f.yaml"; echo "---"
          done | write_atomically "$CACHE/share/kwok-metrics.yaml" ;;
    helm) build helm helm.sh/helm/v3 "-X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor" helm.sh/helm/v3/cmd/helm ;;
    # The wrapper's own main package: cli-utils ships kstatus as a library, not a command.
    kstatus) build kstatus sigs.k8s.io/cli-utils "" . ;;
    kubernetes) build kubernetes k8s.io/kubernetes "$k8s_ldflags" \
          k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
          k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ;;
    metrics-server) build metrics-server sigs.k8s.io/metrics-server "-X k8s.io/client-go/pkg/version.gitVersion=$metrics_server_version" \
          sigs.k8s.io/metrics-server/cmd/metrics-server ;;
    # Webhooks are left out: the CRDs' own CEL rules validate, and the operator alone takes minutes.
    keda) BIN_PREFIX=keda- build keda github.com/kedacore/keda/v2 "-X github.com/kedacore/keda/v2/version.Version=$keda_version" \
          github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter
          # KEDA's CRDs from the same pinned module (never committed here): LocalCluster installs them
          # when started with KEDA.
          keda_src="$(cd "$COMPONENTS_DIR/keda" && go list -m -f '{{.Dir}}' github.com/kedacore/keda/v2)"
          mkdir -p "$CACHE/share/keda-$keda_version/crds"
          for crd in "$keda_src"/config/crd/bases/*.yaml; do
            write_atomically "$CACHE/share/keda-$keda_version/crds/$(basename "$crd")" <"$crd"
          done
          ln -sfn "keda-$keda_version" "$CACHE/share/keda" ;;
    *) die "unknown component '$c' (known: etcd kwok helm kstatus kubernetes metrics-server keda)" ;;
  esac
done
say "components ready in $CACHE/bin"
echo "$CACHE/bin"
