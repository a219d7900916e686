#!/usr/bin/env bash
# Builds the operator's container image from the unchanged Dockerfile with buildah, without a
# container engine or a registry: `buildah bud --isolation chroot` (as root) on local stand-ins
# for the two bases the Dockerfile names (NODE_IMAGE, RUNTIME_IMAGE; made once and cached by
# hack/image-bases.sh). Installs buildah and debootstrap from Debian's packages when missing.
# Intermediate layers are cached (--layers), and so is npm's download cache (the Dockerfile's
# RUN --mount=type=cache), so a rebuild after a source change redoes only the TypeScript build.
#
# Usage: hack/image.sh            (npm run image)
#   AIMODEL_IMAGE   the tag to build (default localhost/aimodel-operator:dev)
# Prints the image's name as the last line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${AIMODEL_IMAGE:-localhost/aimodel-operator:dev}"
START=$SECONDS
say() { printf '[image %4ss] %s\n' "$((SECONDS - START))" "$*" >&2; }

bash "$ROOT/hack/prerequisites.sh" image

bases="$(bash "$ROOT/hack/image-bases.sh")"
NODE_IMAGE="$(sed -n 's/^NODE_IMAGE=//p' <<<"$bases")"
RUNTIME_IMAGE="$(sed -n 's/^RUNTIME_IMAGE=//p' <<<"$bases")"

cd "$ROOT"
version="$(node_modules/node/bin/node -p "require('./package.json').version")"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- src package.json package-lock.json tsconfig.json tsconfig.build.json Dockerfile 2>/dev/null || revision="$revision-dirty"
# The commit's time, not now: an unchanged tree gives an unchanged label.
created="$(git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)"

say "buildah bud $IMAGE (NODE_IMAGE=$NODE_IMAGE RUNTIME_IMAGE=$RUNTIME_IMAGE)"
t0=$SECONDS
TZ=UTC buildah bud --isolation chroot --layers --force-rm --pull=never \
  --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg CREATED="$created" \
  -f Dockerfile -t "$IMAGE" . >&2
size="$(buildah images --format '{{.Size}}' "$IMAGE" | head -1)"
say "built $IMAGE in $((SECONDS - t0))s: $size (of which the runtime base $(buildah images --format '{{.Size}}' "$RUNTIME_IMAGE" | head -1))"
echo "$IMAGE"
