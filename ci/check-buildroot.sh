#!/usr/bin/env bash
# Checks the Buildroot BR2_EXTERNAL tree (image-build/buildroot) against the real Buildroot,
# offline: the snapshot ../shared/vendor/buildroot-2026.05.1.tar.gz (an unmodified `git archive`
# of the tag) is unpacked once into a cache outside the clone, then
#   1. each configs/*_defconfig loads (make BR2_EXTERNAL=... <name>_defconfig, no kconfig warning)
#      and survives `make savedefconfig` byte for byte;
#   2. utils/check-package is clean on every file of the tree;
#   3. `make show-info` lists the package mamori with the version of mamori.mk (the workspace's,
#      as a v-tag) as a cargo package (host-rustc among its dependencies, a vendored -cargoN
#      tarball);
#   4. the users table of mamori.mk (as Buildroot expands it) has the users, groups and
#      memberships of firmware/mamori/systemd/mamori.sysusers, with fixed IDs, and the boards'
#      fstab give the boot partition to the table's mamori-updated (uid=, gid=).
# No network: kconfig, BR2_EXTERNAL loading, check-package and show-info download nothing.
#
#   bash ci/check-buildroot.sh                 # MAMORI_CACHE (default /var/cache/mamori-ci)
#
# Needs (Debian): make gcc g++ bc cpio file unzip rsync wget patch perl python3 python3-magic
# python3-flake8 shellcheck (ci/install-deps.sh). Exit 0 only if every check passed; the last
# line is "buildroot: N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXT=$ROOT/image-build/buildroot
BR_VERSION=2026.05.1
TARBALL=${MAMORI_BUILDROOT_TARBALL:-$ROOT/../shared/vendor/buildroot-$BR_VERSION.tar.gz}
CACHE=${MAMORI_CACHE:-/var/cache/mamori-ci}
BR=$CACHE/buildroot-$BR_VERSION
PY=${MAMORI_PYTHON:-/usr/bin/python3}
SHOW_INFO_DEFCONFIG=mamori_qemu_aarch64_virt

passed=0
failed=0
t_start=$(date +%s.%N)

log() { printf '[buildroot] %s\n' "$*"; }
elapsed() { printf '%.1f' "$(echo "$(date +%s.%N) - $1" | bc)"; }
pass() { passed=$((passed + 1)); log "PASS $1 ($(elapsed "$2") s)"; }
fail() { failed=$((failed + 1)); log "FAIL $1 ($(elapsed "$2") s)"; }
die() {
    printf '[buildroot] ERROR: %s\n' "$*" >&2
    printf 'buildroot: %d passed, %d failed\n' "$passed" "$((failed + 1))"
    exit 1
}

# --- host tools ---------------------------------------------------------------------------
missing=()
for tool in make gcc g++ bc cpio file unzip rsync wget patch perl which tar gzip shellcheck; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
[[ -x $PY ]] || missing+=("$PY")
"$PY" -c 'import magic, flake8' 2>/dev/null || missing+=("python3-magic/python3-flake8 for $PY")
((${#missing[@]} == 0)) || die "missing host tools: ${missing[*]} (bash ci/install-deps.sh)"

# --- the Buildroot snapshot, unpacked once ------------------------------------------------
t=$(date +%s.%N)
[[ -f $TARBALL ]] || die "no Buildroot snapshot at $TARBALL (see ../shared/vendor/README.md)"
want=$(sha256sum "$TARBALL" | cut -d' ' -f1)
if [[ -f $BR/.mamori-unpacked && $(cat "$BR/.mamori-unpacked") == "$want" ]]; then
    log "Buildroot $BR_VERSION: cached in $BR"
else
    log "Buildroot $BR_VERSION: unpacking $TARBALL into $BR"
    mkdir -p "$CACHE" || die "cannot make $CACHE"
    tmp=$(mktemp -d "$CACHE/.buildroot-unpack.XXXXXX") || die "cannot make a directory in $CACHE"
    tar -xzf "$TARBALL" -C "$tmp" || die "cannot unpack $TARBALL"
    top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)
    [[ -f $top/Makefile && -x $top/utils/check-package ]] || die "$TARBALL is not a Buildroot tree"
    rm -rf "$BR"
    mv "$top" "$BR" && rmdir "$tmp"
    printf '%s\n' "$want" > "$BR/.mamori-unpacked"
fi
log "unpack: $(elapsed "$t") s"

OUT=$(mktemp -d "${TMPDIR:-/tmp}/mamori-buildroot.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
brmake() { make -s -C "$BR" "$@"; }

# --- 1. every defconfig loads and round-trips through savedefconfig -------------------------
shopt -s nullglob
defconfigs=("$EXT"/configs/*_defconfig)
((${#defconfigs[@]} > 0)) || die "no defconfig in $EXT/configs"
for defconfig in "${defconfigs[@]}"; do
    t=$(date +%s.%N)
    name=$(basename "$defconfig" _defconfig)
    o=$OUT/$name
    mkdir -p "$o"
    if ! brmake O="$o" BR2_EXTERNAL="$EXT" "${name}_defconfig" > "$o/defconfig.log" 2>&1; then
        cat "$o/defconfig.log"
        log "$name: make ${name}_defconfig failed"
        fail "defconfig $name" "$t"
        continue
    fi
    if grep -i 'warning' "$o/defconfig.log"; then
        log "$name: kconfig warned while loading the defconfig (above)"
        fail "defconfig $name" "$t"
        continue
    fi
    if ! brmake O="$o" savedefconfig BR2_DEFCONFIG="$o/saved_defconfig" > "$o/save.log" 2>&1; then
        cat "$o/save.log"
        log "$name: make savedefconfig failed"
        fail "defconfig $name" "$t"
        continue
    fi
    if ! diff -u "$defconfig" "$o/saved_defconfig"; then
        log "$name: savedefconfig differs from the committed defconfig (diff above: - committed, + saved);"
        log "$name: an option is unknown, unreachable, a default, or out of order"
        fail "defconfig $name" "$t"
        continue
    fi
    pass "defconfig $name (loads, savedefconfig identical)" "$t"
done

# --- 2. check-package ---------------------------------------------------------------------
t=$(date +%s.%N)
mapfile -t files < <(find "$EXT" -type f | sort)
if (cd "$BR" && "$PY" utils/check-package -b "${files[@]}") > "$OUT/check-package.log" 2>&1 &&
    grep -q '^0 warnings generated' "$OUT/check-package.log"; then
    pass "check-package on ${#files[@]} files: $(grep 'lines processed' "$OUT/check-package.log")" "$t"
else
    cat "$OUT/check-package.log"
    fail "check-package (warnings above)" "$t"
fi

# --- 3. show-info: the package mamori, a cargo package -------------------------------------
t=$(date +%s.%N)
o=$OUT/$SHOW_INFO_DEFCONFIG
[[ -f $o/.config ]] || brmake O="$o" BR2_EXTERNAL="$EXT" "${SHOW_INFO_DEFCONFIG}_defconfig" > /dev/null 2>&1
if brmake O="$o" show-info > "$OUT/show-info.json" 2> "$OUT/show-info.err" &&
    brmake O="$o" printvars VARS='MAMORI_VERSION MAMORI_USERS' > "$OUT/printvars.txt" 2>&1; then
    if "$PY" - "$OUT/show-info.json" "$OUT/printvars.txt" "$ROOT/Cargo.toml" <<'PY'; then
import json, re, sys, tomllib
info = json.load(open(sys.argv[1]))
mk_version = re.search(r'^MAMORI_VERSION=(\S+)$', open(sys.argv[2]).read(), re.M).group(1)
workspace = tomllib.load(open(sys.argv[3], 'rb'))['workspace']['package']['version']
errors = []
pkg = info.get('mamori')
if pkg is None:
    errors.append('show-info does not list the package mamori')
else:
    if pkg.get('version') != mk_version:
        errors.append(f"show-info version {pkg.get('version')!r} is not MAMORI_VERSION {mk_version!r}")
    if mk_version != f'v{workspace}':
        errors.append(f'MAMORI_VERSION {mk_version!r} is not the workspace version as a tag (v{workspace})')
    if 'host-rustc' not in pkg.get('dependencies', []):
        errors.append(f"host-rustc is not among mamori's dependencies {pkg.get('dependencies')}")
    for dep in ('libnftnl', 'libmnl'):
        if dep not in pkg.get('dependencies', []):
            errors.append(f'{dep} is not among the dependencies of mamori')
    sources = [d.get('source', '') for d in pkg.get('downloads', [])]
    if not any(re.search(r'-cargo\d+\.tar\.gz$', s) for s in sources):
        errors.append(f'no vendored (-cargoN) tarball among the downloads {sources}: not a cargo package')
    uris = [u for d in pkg.get('downloads', []) for u in d.get('uris', [])]
    if not any(u.startswith('git+') for u in uris):
        errors.append(f'the download is not from git: {uris}')
for e in errors:
    print(f'[buildroot] show-info: {e}')
if not errors:
    print(f"[buildroot] show-info: mamori {pkg['version']}, downloads {sources}, "
          f"dependencies {pkg['dependencies']}")
sys.exit(1 if errors else 0)
PY
        pass "show-info lists mamori as a cargo package" "$t"
    else
        fail "show-info" "$t"
    fi
else
    cat "$OUT/show-info.err" "$OUT/printvars.txt" 2>/dev/null
    fail "show-info (make failed)" "$t"
fi

# --- 4. the users table against mamori.sysusers, the fstab IDs against the table -----------
t=$(date +%s.%N)
if "$PY" - "$OUT/printvars.txt" "$ROOT/firmware/mamori/systemd/mamori.sysusers" "$EXT/board" <<'PY'; then
import glob, re, sys
text = open(sys.argv[1]).read()
m = re.search(r'^MAMORI_USERS=(.*?)(?=^[A-Z0-9_]+=|\Z)', text, re.M | re.S)
if not m:
    sys.exit('[buildroot] users: MAMORI_USERS is empty or missing')
errors = []
br_groups, br_users, br_members, gids, uids = set(), {}, set(), {}, {}
for line in m.group(1).splitlines():
    f = line.split(None, 8)
    if not f:
        continue
    if len(f) < 8:
        errors.append(f'mkusers line with fewer than 8 fields: {line.strip()!r}')
        continue
    user, uid, group, gid, _pw, _home, _shell, groups = f[:8]
    br_groups.add(group)
    if gid not in ('-1', '-2'):
        if gids.setdefault(group, gid) != gid:
            errors.append(f'group {group} has gid {gids[group]} and {gid}')
    if user == '-':
        continue
    br_users[user] = group
    uids[user] = uid
    for g in ([] if groups == '-' else groups.split(',')):
        br_groups.add(g)
        br_members.add((user, g))
sys_groups, sys_users, sys_members = set(), {}, set()
for line in open(sys.argv[2]):
    line = line.split('#', 1)[0]
    f = line.split()
    if not f:
        continue
    kind, name = f[0], f[1]
    if kind == 'g':
        sys_groups.add(name)
    elif kind == 'u':
        ident = f[2] if len(f) > 2 else '-'
        group = ident.split(':', 1)[1] if ':' in ident else name
        sys_users[name] = group
        sys_groups.add(group)
    elif kind == 'm':
        sys_members.add((name, f[2]))
        sys_groups.add(f[2])
    else:
        errors.append(f'sysusers line of a type this check does not know: {line.strip()!r}')
def diff(what, br, sysu):
    for x in sorted(set(br) - set(sysu)):
        errors.append(f'{what} {x} is in mamori.mk (MAMORI_USERS) but not in mamori.sysusers')
    for x in sorted(set(sysu) - set(br)):
        errors.append(f'{what} {x} is in mamori.sysusers but not in mamori.mk (MAMORI_USERS)')
diff('group', br_groups, sys_groups)
diff('user', br_users, sys_users)
for u in sorted(set(br_users) & set(sys_users)):
    if br_users[u] != sys_users[u]:
        errors.append(f'user {u}: primary group {br_users[u]} in mamori.mk, {sys_users[u]} in mamori.sysusers')
diff('membership (user, group)', br_members, sys_members)
for u, uid in uids.items():
    if not uid.isdigit():
        errors.append(f'user {u} has no fixed uid ({uid}): /var outlives an A/B update')
dup = {v for v in uids.values() if list(uids.values()).count(v) > 1}
if dup:
    errors.append(f'uids used twice: {sorted(dup)}')
want_uid, want_gid = uids.get('mamori-updated'), gids.get('mamori-updated')
fstabs = sorted(glob.glob(f'{sys.argv[3]}/*/rootfs-overlay/etc/fstab'))
if not fstabs:
    errors.append('no board fstab found')
for fstab in fstabs:
    boot = [l for l in open(fstab) if not l.startswith('#') and len(l.split()) > 2
            and l.split()[2] == 'vfat']
    if len(boot) != 1:
        errors.append(f'{fstab}: not exactly one vfat (boot partition) line')
    for line in boot:
        uid = re.search(r'\buid=(\d+)', line)
        gid = re.search(r'\bgid=(\d+)', line)
        if not uid or uid.group(1) != want_uid or not gid or gid.group(1) != want_gid:
            errors.append(f'{fstab}: the boot partition must be uid={want_uid} gid={want_gid} '
                          f'(mamori-updated in MAMORI_USERS): {line.strip()}')
for e in errors:
    print(f'[buildroot] users: {e}')
if not errors:
    print(f'[buildroot] users: {len(br_users)} users, {len(br_groups)} groups, '
          f'{len(br_members)} memberships as in mamori.sysusers; {len(fstabs)} fstab /boot IDs match')
sys.exit(1 if errors else 0)
PY
    pass "users table matches mamori.sysusers" "$t"
else
    fail "users table" "$t"
fi

log "total: $(elapsed "$t_start") s"
printf 'buildroot: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
