#!/usr/bin/env bash
# Makes local stand-ins for the two base images the Dockerfile names, on a machine that can reach
# no container registry, and prints their names as NODE_IMAGE=... and RUNTIME_IMAGE=... lines.
#
#   node base     stands in for node:24-bookworm-slim: a minimal Debian 12 (bookworm) root file
#                 system from Debian's own packages (debootstrap --variant=minbase), plus the
#                 official Node.js binary the npm `node` package ships (the version package.json
#                 pins) at /usr/local/bin/node and npm from the npm registry's `npm` package (the
#                 version that Node.js release bundles) at /usr/local/lib/node_modules/npm, laid
#                 out as the official image lays them out.
#   runtime base  stands in for gcr.io/distroless/nodejs24-debian12:nonroot: no shell, no package
#                 manager, no npm; the same node binary at /nodejs/bin/node (the entry point), the
#                 glibc, libstdc++ and libgcc_s libraries it links against and CA certificates,
#                 all taken from the same bookworm root file system; /etc/passwd and /etc/group
#                 with root, nonroot (65532) and nobody; user 65532:65532, as distroless' :nonroot.
#
# Both are made once and kept as OCI archives in $AIMODEL_CACHE/image-bases-<key>/, where <key>
# hashes what goes into them (this script, the Debian suite and package set, the node binary, the
# npm version); later runs load them into buildah's storage from there, or find them already in
# it. Needs root (debootstrap, buildah mount).
#
# Usage: hack/image-bases.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${AIMODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aimodel-operator}"
START=$SECONDS
say() { printf '[image-bases %4ss] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

SUITE=bookworm
# ca-certificates: the runtime base's /etc/ssl/certs (distroless ships them too).
INCLUDE=ca-certificates
# The npm that Node.js 24.21.0 bundles (its changelog: "deps: upgrade npm to 11.19.0", 24.20.0).
NPM_VERSION=11.19.0
NODE_BIN="$ROOT/node_modules/node/bin/node"
[ -x "$NODE_BIN" ] || die "no $NODE_BIN: run npm ci first (it installs the npm node package's official Node.js binary)"
NODE_VERSION="$("$NODE_BIN" --version)"; NODE_VERSION="${NODE_VERSION#v}"
PINNED_NODE="$("$NODE_BIN" -p "require('$ROOT/package.json').devDependencies.node")"
[ "$NODE_VERSION" = "$PINNED_NODE" ] || die "node_modules has Node.js $NODE_VERSION, package.json pins $PINNED_NODE: run npm ci"
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, buildah mount)"

# Debian's mirror as apt on this machine is configured (deb822 .sources or one-line .list), so the
# stand-ins come from where this machine's own packages come from.
debian_mirror() {
  local uri
  uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  [ -n "$uri" ] || uri="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
                            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1 || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR="${DEBIAN_MIRROR:-$(debian_mirror)}"

# Certificate authorities this machine adds to Debian's (update-ca-certificates' local ones, e.g.
# a TLS-inspecting egress proxy's): the node base trusts them too, so that `npm ci` in the build
# reaches the registry the way npm on this machine does. Only the build stages see them; the
# runtime base has Debian's CA certificates only.
LOCAL_CAS=(); for crt in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do [ -f "$crt" ] && LOCAL_CAS+=("$crt"); done

KEY="$( (cat "${BASH_SOURCE[0]}" "${LOCAL_CAS[@]}"; echo "$SUITE $INCLUDE $NPM_VERSION $(uname -m)"; sha256sum "$NODE_BIN" | cut -d' ' -f1) | sha256sum | cut -c1-12)"
NODE_IMAGE="localhost/aimodel-operator-stand-in/node:$NODE_VERSION-$SUITE-$KEY"
RUNTIME_IMAGE="localhost/aimodel-operator-stand-in/nodejs24-debian12:nonroot-$KEY"
OUT="$CACHE/image-bases-$KEY"

have_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

if have_image "$NODE_IMAGE" && have_image "$RUNTIME_IMAGE"; then
  say "stand-in bases in buildah's storage ($KEY)"
elif [ -f "$OUT/.complete" ]; then
  say "loading the stand-in bases from $OUT"
  for pair in "node.tar:$NODE_IMAGE" "runtime.tar:$RUNTIME_IMAGE"; do
    id="$(buildah pull --quiet "oci-archive:$OUT/${pair%%:*}")"
    buildah tag "$id" "${pair#*:}"
  done
else
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (apt-get install debootstrap)"
  free_mb=$(df -Pm "$CACHE" 2>/dev/null | awk 'NR==2 {print $4}' || echo 0)
  [ "${free_mb:-0}" -ge 3000 ] || die "only ${free_mb} MiB free under $CACHE; the stand-in bases need about 3 GiB while they are made"
  rm -rf "$OUT"; mkdir -p "$OUT"
  work="$(mktemp -d "$CACHE/image-bases-work.XXXXXX")"
  containers=()
  cleanup() {
    for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
    rm -rf "$work"
  }
  trap cleanup EXIT

  say "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
  if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed (is $MIRROR reachable? set DEBIAN_MIRROR to another Debian mirror)"
  fi
  rootfs="$work/rootfs"
  # What debootstrap leaves behind that an image does not need: downloaded packages, indexes.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/tmp/*

  say "npm pack npm@$NPM_VERSION"
  (cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$work/npm" && tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/npm"

  # ---- node base: the Debian root file system + node and npm where the official image puts them.
  say "node base: $NODE_IMAGE"
  ctr="$(buildah from --quiet scratch)"; containers+=("$ctr")
  mnt="$(buildah mount "$ctr")"
  cp -a "$rootfs/." "$mnt/"
  install -D -m 0755 "$NODE_BIN" "$mnt/usr/local/bin/node"
  mkdir -p "$mnt/usr/local/lib/node_modules"
  cp -a "$work/npm/package" "$mnt/usr/local/lib/node_modules/npm"
  chown -R 0:0 "$mnt/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  node_ca_env=()
  if [ ${#LOCAL_CAS[@]} -gt 0 ]; then
    install -d "$mnt/usr/local/share/ca-certificates/host"
    cp "${LOCAL_CAS[@]}" "$mnt/usr/local/share/ca-certificates/host/"
    cat "${LOCAL_CAS[@]}" >>"$mnt/etc/ssl/certs/ca-certificates.crt"
    node_ca_env=(--env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
  fi
  buildah umount "$ctr" >/dev/null
  buildah config "${node_ca_env[@]}" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$NODE_VERSION" \
    --cmd node --label org.opencontainers.image.description="stand-in for node:24-bookworm-slim (hack/image-bases.sh)" "$ctr"
  buildah commit --quiet --rm "$ctr" "$NODE_IMAGE" >/dev/null; containers=()

  # ---- runtime base: node, the shared libraries it links against, CA certificates, users.
  say "runtime base: $RUNTIME_IMAGE"
  ctr="$(buildah from --quiet scratch)"; containers+=("$ctr")
  mnt="$(buildah mount "$ctr")"
  # bookworm is merged-/usr: /lib and /lib64 are links into /usr, as in distroless.
  for link in lib lib64 bin sbin; do [ -L "$rootfs/$link" ] && cp -a "$rootfs/$link" "$mnt/$link"; done
  # The libraries (not the programs) of the packages the node binary needs (ldd: libc6 for libc,
  # libm, libdl, libpthread and the loader; libstdc++6; libgcc-s1).
  for pkg in libc6 libstdc++6 libgcc-s1; do
    list=''
    for candidate in "$rootfs/var/lib/dpkg/info/$pkg:$(dpkg --print-architecture).list" "$rootfs/var/lib/dpkg/info/$pkg.list"; do
      if [ -f "$candidate" ]; then list=$candidate; break; fi
    done
    [ -n "$list" ] || die "$pkg is not in the $SUITE root file system"
    # dpkg records bookworm's libraries under /lib; merged-/usr keeps them under /usr/lib.
    { grep -E '^(/usr)?/lib(64)?/.*\.so(\.[0-9]+)*$' "$list" || true; } | sed -E 's#^/lib#/usr/lib#' | sort -u \
      | while read -r f; do
          if [ -e "$rootfs$f" ] || [ -L "$rootfs$f" ]; then (cd "$rootfs" && cp -a --parents ".$f" "$mnt/"); fi
        done
  done
  (cd "$rootfs" && cp -a --parents ./etc/ssl/certs/ca-certificates.crt ./usr/lib/os-release "$mnt/")
  ln -s ../usr/lib/os-release "$mnt/etc/os-release"
  [ -f "$rootfs/etc/services" ] && cp -a "$rootfs/etc/services" "$mnt/etc/services"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$mnt/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' >"$mnt/etc/group"
  printf 'hosts: files dns\n' >"$mnt/etc/nsswitch.conf"
  install -d -m 0700 "$mnt/root"
  install -d -m 0700 -o 65532 -g 65532 "$mnt/home/nonroot"
  install -d -m 1777 "$mnt/tmp"
  install -D -m 0755 "$NODE_BIN" "$mnt/nodejs/bin/node"
  buildah umount "$ctr" >/dev/null
  buildah config --user 65532:65532 --workingdir /home/nonroot --entrypoint '["/nodejs/bin/node"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --label org.opencontainers.image.description="stand-in for gcr.io/distroless/nodejs24-debian12:nonroot (hack/image-bases.sh)" "$ctr"
  buildah commit --quiet --rm "$ctr" "$RUNTIME_IMAGE" >/dev/null; containers=()

  say "saving the stand-in bases to $OUT"
  buildah push --quiet "$NODE_IMAGE" "oci-archive:$OUT/node.tar"
  buildah push --quiet "$RUNTIME_IMAGE" "oci-archive:$OUT/runtime.tar"
  touch "$OUT/.complete"
  # Stand-ins made from other inputs are not used again.
  for old in $(buildah images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/aimodel-operator-stand-in/' | grep -v -- "-$KEY\$" || true); do
    buildah rmi "$old" >/dev/null 2>&1 || true
  done
  for old in "$CACHE"/image-bases-*; do [ "$old" = "$OUT" ] || [ ! -d "$old" ] || rm -rf "$old"; done
  say "stand-in bases made"
fi
echo "NODE_IMAGE=$NODE_IMAGE"
echo "RUNTIME_IMAGE=$RUNTIME_IMAGE"
