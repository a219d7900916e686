#!/usr/bin/env bash
# Installs what the tests need beyond Node and Go, from Debian's packages, when it is missing:
# prometheus (the real scraper of the metrics end-to-end test, and of the local cluster started
# with KEDA), openssl (certificates of the local cluster) and setpriv (util-linux; components die
# with their owner). Runs before
# `npm test`; a no-op when everything is there. With the argument `image` (hack/image.sh), what
# building and running the container image needs instead: buildah and debootstrap.
set -euo pipefail

missing=()
if [ "${1:-}" = image ]; then
  command -v buildah >/dev/null 2>&1 || missing+=(buildah)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
else
  command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
  command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || {
    echo "prerequisites: Go is not installed; the local control plane is built from source with Go >= 1.26" >&2
    exit 1
  }
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "prerequisites: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "prerequisites: installing ${missing[*]} from Debian's packages" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
