#!/usr/bin/env bash
# Local stand-ins for the base images that the Dockerfile and docker-compose.yml name, for a machine
# that cannot pull from Docker Hub (no registry, or no internet). With internet access you never need
# this: Docker pulls the official `node` and `redis` images.
#
#   scripts/docker-base.sh            build each missing stand-in (an image already there is kept)
#   scripts/docker-base.sh --force    rebuild them
#
# Each image is a minimal Debian root filesystem made with debootstrap from this machine's own apt
# source, imported with `docker import` under exactly the tag the project names:
#   node:<24>-<suite>-slim  Debian <suite> + the Node 24 binary of the project's `node` npm package
#                           (node_modules/node, from `npm ci`) + this machine's npm, a `node` user (uid 1000)
#   redis:<7>-…             Debian + redis-server from apt inside the chroot; like the official image, it
#                           runs in /data and leaves protected mode off when given no config file
# The stand-ins also trust this machine's CA bundle (NODE_EXTRA_CA_CERTS), so that `npm ci` inside
# `docker build` reaches the npm registry the way the host does (behind a TLS-inspecting proxy, say).
#
# Needs root (debootstrap, chroot), debootstrap, a Docker engine (DOCKER_HOST is honoured), and
# `npm ci` done. DEBIAN_MIRROR overrides the mirror read from /etc/apt/sources*.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
[ "${1:-}" = "--force" ] && force=1

log() { echo "docker-base: $*" >&2; }
die() { log "$*"; exit 1; }

# The tags, read from the files that use them, so the stand-ins can never drift from them.
node_tag=$(sed -n -E 's/^FROM[[:space:]]+(node:[^[:space:]]+).*/\1/p' Dockerfile | sort -u)
redis_tag=$(sed -n -E 's/^[[:space:]]+image:[[:space:]]+"?(redis:[^"[:space:]]+)"?.*/\1/p' docker-compose.yml | sort -u)
[ "$(echo "$node_tag" | wc -w)" -eq 1 ] || die "expected one node image in the Dockerfile, found: $node_tag"
[ "$(echo "$redis_tag" | wc -w)" -eq 1 ] || die "expected one redis image in docker-compose.yml, found: $redis_tag"

# node:24-bookworm-slim → Node major 24, Debian suite bookworm.
node_major=${node_tag#node:}; node_major=${node_major%%-*}
suite=$(echo "$node_tag" | sed -n -E 's/^node:[0-9]+-([a-z]+)(-slim)?$/\1/p')
[ -n "$suite" ] || die "cannot read a Debian suite from $node_tag"

have() { docker image inspect "$1" >/dev/null 2>&1; }
need=()
for tag in "$node_tag" "$redis_tag"; do
  if [ "$force" -eq 0 ] && have "$tag"; then log "$tag: present, kept"; else need+=("$tag"); fi
done
[ "${#need[@]}" -eq 0 ] && exit 0

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and chroot)"
command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"

node_bin=$(npm exec --no -- node -p process.execPath)
node_version=$("$node_bin" --version)
[ "${node_version%%.*}" = "v$node_major" ] || die "node_modules/node is $node_version, $node_tag wants Node $node_major (run npm ci)"
npm_dir="$(npm root -g)/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || die "no npm at $npm_dir"
ca_bundle=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  # The first Debian archive among this machine's apt sources (one-line or deb822 form), not its security archive.
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -n -E 's/^(deb([[:space:]]+\[[^]]*\])?|URIs:)[[:space:]]+([^[:space:]]+).*/\3/p' | grep -E '/debian/?$' | head -1 || true)
fi
[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources*: set DEBIAN_MIRROR"

work=$(mktemp -d "${TMPDIR:-/tmp}/tickercast-docker-base.XXXXXX")
mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# One Debian root filesystem, copied for each image.
base="$work/base"
log "debootstrap $suite from $mirror (minbase)"
started=$SECONDS
debootstrap --variant=minbase "$suite" "$base" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap done in $((SECONDS - started)) s"
rm -rf "$base/var/cache/apt/archives/"*.deb

# A stand-in keeps the machine's trust store, and says what it is.
finish_rootfs() {
  local root=$1
  mkdir -p "$root/etc/ssl/certs"
  cp "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/tmp/"*
  : >"$root/etc/resolv.conf"
}
import_image() {
  local root=$1 tag=$2; shift 2
  log "docker import → $tag"
  tar -C "$root" --numeric-owner -c . |
    docker import \
      --change "LABEL org.opencontainers.image.description=\"local stand-in for $tag, made by tickercast scripts/docker-base.sh\"" \
      --change "LABEL tickercast.stand-in=$tag" \
      "$@" - "$tag" >/dev/null
}

for tag in "${need[@]}"; do
  root="$work/${tag%%:*}"
  cp -a "$base" "$root"
  if [ "$tag" = "$redis_tag" ]; then
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc" && mounted+=("$root/proc")
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
    log "apt-get install redis-server in the chroot"
    chroot "$root" sh -c 'export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server && apt-get clean' \
      >"$work/redis-apt.log" 2>&1 || { tail -30 "$work/redis-apt.log" >&2; die "apt-get install redis-server failed"; }
    rm -f "$root/usr/sbin/policy-rc.d"
    umount "$root/proc" && mounted=()
    # The official image compiles protected mode off (a container's Redis is reached over its
    # network, never on loopback); Debian's keeps it on without a config file, so say it here.
    mkdir -p "$root/data" "$root/usr/local/bin"
    cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi
exec "$@"
EOF
    chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
    finish_rootfs "$root"
    import_image "$root" "$tag" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'VOLUME /data' --change 'WORKDIR /data' --change 'EXPOSE 6379' \
      --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["redis-server"]'
  else
    install -D -m 755 "$node_bin" "$root/usr/local/bin/node"
    mkdir -p "$root/usr/local/lib/node_modules"
    cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
    chroot "$root" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
    finish_rootfs "$root"
    import_image "$root" "$tag" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "ENV NODE_VERSION=${node_version#v}" \
      --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
      --change 'CMD ["node"]'
  fi
  rm -rf --one-file-system "$root"
done
log "built: ${need[*]}"
