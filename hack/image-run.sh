#!/usr/bin/env bash
# Runs a built image's entry point the way a container runtime runs the chart's container, with
# no container engine: the image's own root file system (a buildah working container, mounted),
# its ENTRYPOINT, WORKDIR and ENV from the image's config, as an unprivileged uid/gid with no
# supplementary groups and no_new_privs, in mount and PID namespaces of its own (the entry point
# is PID 1; /proc shows only its processes), optionally with the root file system read-only and
# empty tmpfs volumes. The network namespace is the host's (like hostNetwork), so the process
# reaches a local API server on loopback and its ports are on loopback.
#
# Why not `buildah run`: it cannot make the root file system read-only, and the runtime image has
# no shell to set one up with. So this does what runc does, in the same order: create mount
# points in the container's writable layer, bind the root onto itself, mount /proc, a minimal /dev,
# the volumes, remount the root read-only, then chroot, chdir to WORKDIR, drop to the user (which
# clears every capability) and exec the entry point.
#
# Usage: hack/image-run.sh [options] IMAGE [ARG...]     (needs root, like buildah)
#   --user UID:GID     run as this user (default: the image's USER, numeric)
#   --read-only        the root file system read-only (readOnlyRootFilesystem: true)
#   --tmpfs DIR        an empty writable tmpfs at DIR (an emptyDir volume)
#   --mount SRC:DST    bind a host file or directory read-only at DST
#   --env NAME=VALUE   set in the environment, after the image's ENV
# ARGs replace the image's CMD, as a container's args do; the ENTRYPOINT stays. SIGTERM and SIGINT
# are passed on to the entry point; the exit code is the entry point's.
set -euo pipefail

user='' readonly_root=0 tmpfs=() mounts=() extra_env=()
while [ $# -gt 0 ]; do
  case "$1" in
    --user) user=$2; shift 2 ;;
    --read-only) readonly_root=1; shift ;;
    --tmpfs) tmpfs+=("$2"); shift 2 ;;
    --mount) mounts+=("$2"); shift 2 ;;
    --env) extra_env+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) echo "image-run: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: hack/image-run.sh [options] IMAGE [ARG...]" >&2; exit 2; }
image=$1; shift
[ "$(id -u)" -eq 0 ] || { echo "image-run: needs root (buildah mount, namespaces)" >&2; exit 1; }

field() { buildah inspect --type image --format "$1" "$image"; }
mapfile -t entrypoint < <(field '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t image_cmd < <(field '{{range .OCIv1.Config.Cmd}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t image_env < <(field '{{range .OCIv1.Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
workdir="$(field '{{.OCIv1.Config.WorkingDir}}')"; workdir="${workdir:-/}"
[ -n "$user" ] || user="$(field '{{.OCIv1.Config.User}}')"
[[ "$user" =~ ^[0-9]+:[0-9]+$ ]] || { echo "image-run: the user must be numeric uid:gid, not '$user'" >&2; exit 1; }
if [ $# -gt 0 ]; then command=("${entrypoint[@]}" "$@"); else command=("${entrypoint[@]}" "${image_cmd[@]}"); fi
[ ${#command[@]} -gt 0 ] || { echo "image-run: $image has no ENTRYPOINT or CMD" >&2; exit 1; }

# Working containers of runs that were killed (named after their script's pid) go first.
for name in $(buildah containers --format '{{.ContainerName}}' | grep '^aimodel-image-run-' || true); do
  kill -0 "${name##*-}" 2>/dev/null || buildah rm "$name" >/dev/null 2>&1 || true
done
ctr="$(buildah from --quiet --pull=never --name "aimodel-image-run-$$" "$image")"
inner="$(mktemp /tmp/aimodel-image-run.XXXXXX)"
cleanup() { buildah rm "$ctr" >/dev/null 2>&1 || true; rm -f "$inner"; }
trap cleanup EXIT
root="$(buildah mount "$ctr")"

# The steps inside the new namespaces, with every value quoted into the script.
{
  echo 'set -euo pipefail'
  printf 'root=%q\n' "$root"
  echo 'mkdir -p "$root/proc" "$root/dev"'
  for dir in "${tmpfs[@]}"; do printf 'mkdir -p "$root"%q\n' "$dir"; done
  for m in "${mounts[@]}"; do
    src="${m%%:*}" dst="${m#*:}"
    if [ -d "$src" ]; then printf 'mkdir -p "$root"%q\n' "$dst"; else printf 'mkdir -p "$root"%q && touch "$root"%q\n' "$(dirname "$dst")" "$dst"; fi
  done
  echo 'mount --bind "$root" "$root"'
  echo 'mount -t proc -o nosuid,nodev,noexec proc "$root/proc"'
  echo 'mount -t tmpfs -o nosuid,mode=0755,size=64k tmpfs "$root/dev"'
  echo 'for d in null zero full random urandom; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done'
  echo 'ln -s /proc/self/fd "$root/dev/fd"; for i in 0 1 2; do ln -s "/proc/self/fd/$i" "$root/dev/$(echo stdin stdout stderr | cut -d" " -f$((i + 1)))"; done'
  for dir in "${tmpfs[@]}"; do printf 'mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root"%q\n' "$dir"; done
  for m in "${mounts[@]}"; do
    printf 'mount --bind %q "$root"%q && mount -o remount,bind,ro "$root"%q\n' "${m%%:*}" "${m#*:}" "${m#*:}"
  done
  [ "$readonly_root" = 1 ] && echo 'mount -o remount,bind,ro "$root"'
  printf 'exec env -i'; printf ' %q' "${image_env[@]}" "${extra_env[@]}"
  printf ' %q --no-new-privs' "$(command -v setpriv)"
  printf ' %q --root="$root" --wd=%q --setgid %q --setuid %q --' "$(command -v unshare)" "$workdir" "${user#*:}" "${user%%:*}"
  printf ' %q' "${command[@]}"; echo
} >"$inner"

# --kill-child and --pdeathsig: nothing outlives this script, even when it is killed.
setpriv --pdeathsig KILL unshare --mount --propagation private --pid --fork --kill-child bash "$inner" &
outer=$!
pass_on() { local p; for p in $(cat "/proc/$outer/task/$outer/children" 2>/dev/null); do kill -"$1" "$p" 2>/dev/null || true; done; }
trap 'pass_on TERM' TERM
trap 'pass_on INT' INT
status=0
while kill -0 "$outer" 2>/dev/null; do
  if wait "$outer"; then status=0; else status=$?; fi
done
exit "$status"
