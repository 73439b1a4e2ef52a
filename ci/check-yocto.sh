#!/usr/bin/env bash
# Checks image-build/yocto/meta-mamori against the real BitBake 2.18 and oe-core wrynose
# (unmodified snapshots in ../shared/vendor/, see its README), offline:
#   1. crates     mamori-crates.inc is what update-crates.py makes from Cargo.lock, and
#                 update-crates.py writes what oe-core's cargo-update-recipe-crates class
#                 (its own Python, taken from the snapshot) writes
#   2. recipe     the recipe mirrors the source: LIC_FILES_CHKSUM over the license line of
#                 Cargo.toml, PV the workspace version, the users of mamori.sysusers,
#                 SYSTEMD_SERVICE the units of firmware/mamori/systemd/
#   3. parse      `bitbake -p` with BB_NO_NETWORK parses every recipe without an error
#   4. layers     `bitbake-layers show-layers` lists meta-mamori; `show-recipes` lists
#                 mamori and mamori-image
#   5. env        `bitbake -e mamori`: PV, the cargo class, SYSTEMD_SERVICE:mamori,
#                 USERADD_PARAM:mamori
#   6. image      `bitbake -e mamori-image`: read-only-rootfs, the A/B kickstart, boot files
#   7. rust-bin   the same layer with meta-rust-bin (MAMORI_RUST = "rust-bin", the
#                 LAYERSERIES_COMPAT append README.md gives) parses, and mamori builds
#                 with cargo_bin and rust-bin 1.95
# BitBake refuses to run as root, so it runs as an unprivileged user (MAMORI_YOCTO_USER,
# made if missing). The snapshots are unpacked once into the cache (MAMORI_CACHE, outside
# the clone) and reused; the parse cache there makes a second run faster.
# Usage: ci/check-yocto.sh            (from anywhere; exit 0 only if every step passed)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENDOR=${MAMORI_VENDOR:-$ROOT/../shared/vendor}
CACHE=${MAMORI_CACHE:-/var/cache/mamori-ci}/yocto
YUSER=${MAMORI_YOCTO_USER:-mamori-yocto}
LAYER=$ROOT/image-build/yocto/meta-mamori

passed=0
failed=0
T0=$(date +%s)
step_t=$T0
log() { printf '%s\n' "$*"; }
ok() { passed=$((passed + 1)); local now; now=$(date +%s); log "PASS $1 ($((now - step_t)) s)"; step_t=$now; }
bad() { failed=$((failed + 1)); local now; now=$(date +%s); log "FAIL $1 ($((now - step_t)) s)"; step_t=$now; }
finish() {
    log "yocto: total $(( $(date +%s) - T0 )) s"
    log "yocto: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# ---- 1. crates include ---------------------------------------------------------------
# update-crates.py against the committed .inc, then against the class itself: the Python
# heredoc of do_update_crates, from the snapshot, run on a directory holding Cargo.lock.
check_crates() {
    python3 "$ROOT/image-build/yocto/update-crates.py" --check || return 1
    local work; work=$(mktemp -d) || return 1
    tar -xzf "$VENDOR/oe-core-wrynose.tar.gz" -C "$work" --wildcards \
        '*/meta/classes-recipe/cargo-update-recipe-crates.bbclass' || { rm -rf "$work"; return 1; }
    mkdir -p "$work/lock" && cp "$ROOT/Cargo.lock" "$work/lock/Cargo.lock"
    python3 - "$work" <<'PY' || { rm -rf "$work"; return 1; }
import glob, os, re, subprocess, sys
work = sys.argv[1]
cls = open(glob.glob(os.path.join(work, "*/meta/classes-recipe/cargo-update-recipe-crates.bbclass"))[0]).read()
body = re.search(r"nativepython3 - <<EOF\n(.*?)\nEOF\n", cls, re.S).group(1)
out = os.path.join(work, "class-output.inc")
for var, val in (("CARGO_LOCK_SRC_DIR", os.path.join(work, "lock")), ("TARGET_FILE", out), ("PN", "mamori")):
    body = body.replace("${%s}" % var, val)
# The shell's part: an unquoted here-document turns \\, \$, \` into the character and
# drops backslash-newline.
body = re.sub(r"\\([\\$`])|\\\n", lambda m: m.group(1) or "", body)
if "${" in body:
    sys.exit("unexpanded variable left in the class's script: %s" % re.findall(r"\$\{[^}]+\}", body))
subprocess.run([sys.executable, "-"], input=body.encode(), check=True)
ours = subprocess.run([sys.executable, os.environ["UPDATE_CRATES"], "--lock", os.path.join(work, "lock", "Cargo.lock"),
                       "--output", os.path.join(work, "ours.inc")], check=True, capture_output=True)
a, b = open(out).read(), open(os.path.join(work, "ours.inc")).read()
if a != b:
    sys.exit("update-crates.py and oe-core's cargo-update-recipe-crates disagree")
print("update-crates.py writes what cargo-update-recipe-crates writes (%d bytes)" % len(a))
PY
    rm -rf "$work"
}

# ---- 2. recipe against the source ------------------------------------------------------
check_recipe_source() {
    python3 - "$ROOT" <<'PY'
import os, re, sys, tomllib
root = sys.argv[1]
layer = os.path.join(root, "image-build/yocto/meta-mamori")
recipe = open(os.path.join(layer, "recipes-mamori/mamori/mamori_git.bb")).read()
errors = []

# LIC_FILES_CHKSUM: the license line of the workspace's Cargo.toml, md5 as insane.bbclass.
import hashlib
m = re.search(r'file://Cargo\.toml;beginline=(\d+);endline=(\d+);md5=([0-9a-f]{32})', recipe)
lines = open(os.path.join(root, "Cargo.toml"), "rb").read().splitlines(True)
want = [i + 1 for i, l in enumerate(lines) if l.startswith(b"license = ")]
if not m:
    errors.append("LIC_FILES_CHKSUM does not name Cargo.toml's license line")
else:
    b, e, md5 = int(m.group(1)), int(m.group(2)), m.group(3)
    got = hashlib.md5(b"".join(lines[b - 1:e])).hexdigest()
    if got != md5 or not want or b != want[0]:
        errors.append("LIC_FILES_CHKSUM: the license line is now line %s, md5 %s: use "
                      "file://Cargo.toml;beginline=%s;endline=%s;md5=%s"
                      % (want[0] if want else "?", hashlib.md5(lines[want[0]-1]).hexdigest() if want else "?",
                         want[0] if want else "?", want[0] if want else "?",
                         hashlib.md5(lines[want[0]-1]).hexdigest() if want else "?"))
ws = tomllib.load(open(os.path.join(root, "Cargo.toml"), "rb"))["workspace"]["package"]
if ws.get("license") != "Apache-2.0 OR MIT" or 'LICENSE = "Apache-2.0 | MIT"' not in recipe:
    errors.append("LICENSE does not match the workspace's %r" % ws.get("license"))
pv = re.search(r'^PV = "([^"+]+)', recipe, re.M)
if not pv or pv.group(1) != ws["version"]:
    errors.append("PV %s is not the workspace version %s" % (pv and pv.group(1), ws["version"]))

# Users and groups: mamori.sysusers.
units = os.path.join(root, "firmware/mamori/systemd")
sys_groups, sys_users, sys_members = set(), {}, set()
for line in open(os.path.join(units, "mamori.sysusers")):
    f = line.split()
    if not f or f[0].startswith("#"):
        continue
    if f[0] == "g":
        sys_groups.add(f[1])
    elif f[0] == "u":
        gid = f[2].split(":")[1] if ":" in f[2] else f[1]
        home = f[-1]
        sys_users[f[1]] = (gid, home)
        sys_groups.add(gid)
    elif f[0] == "m":
        sys_members.add((f[1], f[2]))
def param(name):
    v = re.search(r'^%s:\$\{PN\} = "(.*?)"' % name, recipe, re.M | re.S).group(1)
    v = v.replace("\\\n", " ").replace("${MAMORI_USER_OPTS}", "")
    return [" ".join(p.split()) for p in v.split(";") if p.strip()]
groups = {p.split()[-1] for p in param("GROUPADD_PARAM")}
users, members = {}, set()
for p in param("USERADD_PARAM"):
    import shlex
    a = shlex.split(p)
    name = a[-1]
    users[name] = (a[a.index("--gid") + 1], a[a.index("--home-dir") + 1])
    if "--groups" in a:
        members |= {(name, g) for g in a[a.index("--groups") + 1].split(",")}
if groups != sys_groups:
    errors.append("GROUPADD_PARAM groups %s differ from mamori.sysusers %s" % (sorted(groups), sorted(sys_groups)))
if users != sys_users:
    errors.append("USERADD_PARAM users %s differ from mamori.sysusers %s" % (users, sys_users))
if members != sys_members:
    errors.append("USERADD_PARAM --groups %s differ from mamori.sysusers memberships %s"
                  % (sorted(members ^ sys_members), ""))

# SYSTEMD_SERVICE: every unit of the folder, and the preset's list.
service = set(re.search(r'^SYSTEMD_SERVICE:\$\{PN\} = "(.*?)"', recipe, re.M | re.S).group(1).replace("\\\n", " ").split())
files = {f for f in os.listdir(units) if f.rsplit(".", 1)[-1] in ("service", "path", "socket", "timer")}
preset = {l.split()[1] for l in open(os.path.join(units, "mamori.preset")) if l.startswith("enable ")}
if service != files:
    errors.append("SYSTEMD_SERVICE %s differs from the units %s" % (sorted(service ^ files), ""))
if service != preset:
    errors.append("SYSTEMD_SERVICE differs from mamori.preset: %s" % sorted(service ^ preset))
for e in errors:
    print("  " + e)
if errors:
    sys.exit(1)
print("license line, version, %d users, %d groups, %d memberships, %d units match the source"
      % (len(users), len(groups), len(members), len(service)))
PY
}

# ---- setup: tools, user, snapshots, build directories -----------------------------------
setup() {
    local t
    for t in python3 runuser useradd tar chrpath diffstat gawk lz4c zstd cpio file; do
        command -v "$t" >/dev/null || { log "missing host tool: $t (ci/install-deps.sh installs bitbake's host tools)"; return 1; }
    done
    if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
        log "missing locale en_US.UTF-8 (bitbake needs it): enable it in /etc/locale.gen and run locale-gen"
        return 1
    fi
    id -u "$YUSER" >/dev/null 2>&1 || useradd --system --create-home --home-dir "$CACHE/home" \
        --shell /bin/bash "$YUSER" || return 1
    mkdir -p "$CACHE/src" "$CACHE/home"
    local name tarball sum dest
    for name in bitbake-2.18 oe-core-wrynose meta-rust-bin; do
        tarball=$VENDOR/$name.tar.gz
        [ -r "$tarball" ] || { log "missing $tarball (see ../shared/vendor/README.md)"; return 1; }
        sum=$(sha256sum "$tarball" | cut -c1-16)
        dest=$CACHE/src/$name
        if [ "$(cat "$dest/.mamori-unpacked" 2>/dev/null)" != "$sum" ]; then
            rm -rf "$dest" "$dest.tmp" && mkdir -p "$dest.tmp" &&
                tar -xzf "$tarball" -C "$dest.tmp" --strip-components=1 &&
                echo "$sum" > "$dest.tmp/.mamori-unpacked" && mv "$dest.tmp" "$dest" || return 1
            log "unpacked $name"
        fi
    done
    # A copy of the layer the unprivileged user can read, fresh every run.
    rm -rf "$CACHE/layers" && mkdir -p "$CACHE/layers" && cp -a "$LAYER" "$CACHE/layers/meta-mamori" || return 1
    # Stand-ins for the meta-openembedded recipes mamori needs (libnftnl, dnsmasq, nftables
    # are meta-networking's; meta-openembedded is not among the snapshots): empty recipes
    # with those names, so that `bitbake -e mamori` can resolve its dependencies. Only in
    # this check's build directory; a real build uses meta-openembedded (README.md).
    local st=$CACHE/layers/meta-ci-stand-ins pn
    mkdir -p "$st/conf" "$st/recipes-stand-ins/stand-ins"
    cat > "$st/conf/layer.conf" <<'EOF'
BBPATH .= ":${LAYERDIR}"
BBFILES += "${LAYERDIR}/recipes-*/*/*.bb"
BBFILE_COLLECTIONS += "mamori-ci-stand-ins"
BBFILE_PATTERN_mamori-ci-stand-ins = "^${LAYERDIR}/"
BBFILE_PRIORITY_mamori-ci-stand-ins = "1"
LAYERSERIES_COMPAT_mamori-ci-stand-ins = "wrynose"
EOF
    for pn in libnftnl dnsmasq nftables; do
        cat > "$st/recipes-stand-ins/stand-ins/$pn.bb" <<'EOF'
SUMMARY = "ci/check-yocto.sh stand-in for meta-networking's recipe of this name (parse checks only; never built)"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"
INHIBIT_DEFAULT_DEPS = "1"
ALLOW_EMPTY:${PN} = "1"
EOF
    done
    # getvars.py RECIPE VAR...: the recipe's variables through tinfoil (bitbake's API),
    # as NAME="value" lines like `bitbake -e`, without resolving its dependencies.
    cat > "$CACHE/getvars.py" <<'EOF'
import sys
import bb.tinfoil
with bb.tinfoil.Tinfoil() as tinfoil:
    tinfoil.prepare(config_only=False, quiet=2)
    d = tinfoil.parse_recipe(sys.argv[1])
    for name in sys.argv[2:]:
        v = d.getVar(name) or ""
        print('%s="%s"' % (name, " ".join(v if isinstance(v, list) else v.split())))
EOF
    chown -R "$YUSER": "$CACHE" || return 1
}

# write_build DIR RUSTBIN: conf/local.conf and conf/bblayers.conf.
write_build() {
    local dir=$1 rustbin=$2
    mkdir -p "$dir/conf"
    cat > "$dir/conf/local.conf" <<EOF
# Written by ci/check-yocto.sh: parse only, offline.
MACHINE = "qemuarm64"
DISTRO = "nodistro"
INIT_MANAGER = "systemd"
DISTRO_FEATURES:append = " systemd usrmerge"
BB_NO_NETWORK = "1"
CONNECTIVITY_CHECK_URIS = ""
DL_DIR = "$CACHE/downloads"
SSTATE_DIR = "$CACHE/sstate-cache"
BB_HASHSERVE_DB_DIR = "$CACHE/sstate-cache"
TMPDIR = "$dir/tmp"
PACKAGE_CLASSES = "package_ipk"
# This host (Debian 12) is not in oe-core's tested list; the warning is expected.
SANITY_TESTED_DISTROS = ""
BB_DISKMON_DIRS = ""
EOF
    if [ "$rustbin" = 1 ]; then
        cat >> "$dir/conf/local.conf" <<'EOF'
# Rust >= 1.95 on wrynose: meta-rust-bin's prebuilt toolchain (see meta-mamori/README.md).
MAMORI_RUST = "rust-bin"
PREFERRED_VERSION_rust-bin-cross-${TARGET_ARCH} = "1.95.0"
PREFERRED_VERSION_cargo-bin-cross-${TARGET_ARCH} = "1.95.0"
# Only meta-mamori and meta-rust-bin are parsed here (the full parse is the other build's):
# oe-core's recipes are masked, its classes stay.
BBMASK = "/oe-core-wrynose/meta/recipes- /meta-mamori/recipes-bsp/u-boot/"
EOF
    fi
    local layers="$CACHE/src/oe-core-wrynose/meta $CACHE/layers/meta-mamori"
    if [ "$rustbin" = 1 ]; then
        layers="$layers $CACHE/src/meta-rust-bin"
    else
        layers="$layers $CACHE/layers/meta-ci-stand-ins"
    fi
    {
        echo '# Written by ci/check-yocto.sh.'
        echo 'BBPATH = "${TOPDIR}"'
        echo 'BBFILES ?= ""'
        echo "BBLAYERS = \"$layers\""
    } > "$dir/conf/bblayers.conf"
    if [ "$rustbin" = 1 ]; then
        cat >> "$dir/conf/bblayers.conf" <<'EOF'
# meta-rust-bin's layer.conf stops at scarthgap. BitBake checks LAYERSERIES_COMPAT right
# after each layer.conf, before local.conf is read: the append must be here.
LAYERSERIES_COMPAT_rust-bin-layer:append = " wrynose"
EOF
    fi
    chown -R "$YUSER": "$dir"
}

# as_user DIR CMD...: runs CMD in the build directory DIR as the unprivileged user, with
# bitbake on PATH.
as_user() {
    local dir=$1; shift
    runuser -u "$YUSER" -- env -i HOME="$CACHE/home" LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8 \
        PYTHONPATH="$CACHE/src/bitbake-2.18/lib" \
        PATH="$CACHE/src/bitbake-2.18/bin:$CACHE/src/oe-core-wrynose/scripts:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
        BBPATH="$dir" BUILDDIR="$dir" bash -c 'cd "$BUILDDIR" && "$@"' as_user "$@"
}

bbvar() { # bbvar FILE NAME: the value of NAME in `bitbake -e` output FILE
    sed -n "s/^$2=\"\\(.*\\)\"\$/\\1/p" "$1" | tail -n1
}

cd "$ROOT" || exit 1
export UPDATE_CRATES=$ROOT/image-build/yocto/update-crates.py
log "== yocto: meta-mamori against bitbake 2.18 + oe-core wrynose (cache $CACHE)"

if check_crates; then ok "crates: mamori-crates.inc matches Cargo.lock and the class's own output"; else bad "crates: mamori-crates.inc"; fi
if check_recipe_source; then ok "recipe: license, version, users, units match the source"; else bad "recipe: does not match the source"; fi
# GRUB's own parser on the layer's grub.cfg (grub-common's grub-script-check, when installed).
if command -v grub-script-check >/dev/null; then
    cfg=$(mktemp)
    sed -e 's#@@[A-Z_]*@@#x#g' "$LAYER/recipes-bsp/mamori-boot/files/grub.cfg.in" > "$cfg"
    if grub-script-check "$cfg"; then ok "grub.cfg: grub-script-check"; else bad "grub.cfg: grub-script-check"; fi
    rm -f "$cfg"
fi

if ! setup; then bad "setup (host tools, user $YUSER, snapshots)"; finish; fi
log "setup done ($(( $(date +%s) - step_t )) s)"; step_t=$(date +%s)

B=$CACHE/build
write_build "$B" 0
out=$CACHE/logs; mkdir -p "$out"; chown "$YUSER": "$out"

if as_user "$B" bitbake -p > "$out/parse.log" 2>&1 && ! grep -q '^ERROR' "$out/parse.log"; then
    grep -E '^(WARNING|NOTE: Parsing|Parsing of)' "$out/parse.log" | tail -n 5 | sed 's/^/  /'
    ok "parse: bitbake -p (BB_NO_NETWORK)"
else
    tail -n 40 "$out/parse.log" | sed 's/^/  /'
    bad "parse: bitbake -p"
fi

if as_user "$B" bitbake-layers show-layers > "$out/layers.log" 2>&1 && grep -q '^mamori ' "$out/layers.log" \
    && as_user "$B" bitbake-layers show-recipes mamori mamori-image mamori-boot mamori-network > "$out/recipes.log" 2>&1 \
    && grep -q '^mamori:$' "$out/recipes.log" && grep -q '^mamori-image:$' "$out/recipes.log" \
    && grep -q '^mamori-boot:$' "$out/recipes.log" && grep -q '^mamori-network:$' "$out/recipes.log"; then
    grep -E '^(mamori|core) ' "$out/layers.log" | sed 's/^/  /'
    grep -A1 -E '^mamori[a-z-]*:$' "$out/recipes.log" | grep -v '^--' | paste - - | sed 's/^/  /'
    ok "layers: show-layers lists meta-mamori, show-recipes lists mamori, mamori-image, mamori-boot, mamori-network"
else
    cat "$out/layers.log" "$out/recipes.log" 2>/dev/null | tail -n 30 | sed 's/^/  /'
    bad "layers: show-layers / show-recipes"
fi

if as_user "$B" bitbake -e mamori > "$out/env-mamori.log" 2>&1; then
    e=$out/env-mamori.log; errs=()
    pv=$(bbvar "$e" PV); [[ $pv == 0.1.0+git* ]] || errs+=("PV is '$pv'")
    # The cargo class: among the files the recipe included, and its do_compile in force.
    [[ " $(bbvar "$e" BBINCLUDED) " == *"/meta/classes-recipe/cargo.bbclass "* ]] || errs+=("cargo.bbclass is not inherited")
    sed -n '/^do_compile() {$/,/^}$/p' "$e" | grep -q '^[[:space:]]*cargo_do_compile$' || errs+=("do_compile is not cargo_do_compile")
    svc=$(bbvar "$e" SYSTEMD_SERVICE:mamori)
    for u in mamori-smtpd.service mamori-firewalld.service mamori-admind.service mamori-updated.service mamori-time.path; do
        [[ " $svc " == *" $u "* ]] || errs+=("SYSTEMD_SERVICE:mamori lacks $u")
    done
    ua=$(bbvar "$e" USERADD_PARAM:mamori)
    for u in mamori-smtp mamori-fw mamori-settings mamori-admind mamori-linkd mamori-updated; do
        [[ $ua == *" $u;"* || $ua == *" $u" ]] || errs+=("USERADD_PARAM:mamori lacks $u")
    done
    flags=$(bbvar "$e" CARGO_BUILD_FLAGS)
    [[ $flags == *--frozen* && $flags == *"-p mamori"* ]] || errs+=("CARGO_BUILD_FLAGS '$flags' lacks --frozen/-p mamori")
    [[ " $(bbvar "$e" DEPENDS) " == *" libnftnl "* ]] || errs+=("DEPENDS lacks libnftnl")
    [ "$(bbvar "$e" LIBNFTNL_LIB_DIR)" = "$(bbvar "$e" STAGING_LIBDIR)" ] || errs+=("LIBNFTNL_LIB_DIR is not STAGING_LIBDIR")
    nsrc=$(bbvar "$e" SRC_URI | tr ' ' '\n' | grep -c '^crate://')
    [ "$nsrc" -eq "$(grep -c 'crate://' "$LAYER/recipes-mamori/mamori/mamori-crates.inc")" ] || errs+=("SRC_URI has $nsrc crates")
    if [ ${#errs[@]} -eq 0 ]; then
        log "  PV=$pv  MAMORI_BOARD=$(bbvar "$e" MAMORI_BOARD)  crates=$nsrc"
        log "  SYSTEMD_SERVICE:mamori=$(echo $svc)"
        log "  CARGO_BUILD_FLAGS=$flags"
        ok "env: bitbake -e mamori (PV, cargo, SYSTEMD_SERVICE, USERADD_PARAM, CARGO_BUILD_FLAGS, DEPENDS)"
    else
        printf '  %s\n' "${errs[@]}"; bad "env: bitbake -e mamori"
    fi
else
    tail -n 30 "$out/env-mamori.log" | sed 's/^/  /'; bad "env: bitbake -e mamori"
fi

# The image: read-only, the A/B kickstart found, the boot files of the machine's loader.
if as_user "$B" bitbake -e mamori-image > "$out/env-image.log" 2>&1; then
    e=$out/env-image.log; errs=()
    [[ " $(bbvar "$e" IMAGE_FEATURES) " == *" read-only-rootfs "* ]] || errs+=("IMAGE_FEATURES lacks read-only-rootfs")
    # A .wks.in is found, read into _WKS_TEMPLATE and written out expanded as WORKDIR/mamori-ab.wks.
    wks=$(bbvar "$e" WKS_FULL_PATH); [[ $wks == */mamori-image/*/mamori-ab.wks ]] || errs+=("WKS_FULL_PATH is '$wks'")
    for l in mamori-boot mamori-root-a mamori-root-b mamori-data; do
        grep -q "^part .*--label $l --part-name $l " "$e" || errs+=("the kickstart has no partition $l")
    done
    grep -q '^part /var .*--label mamori-data' "$e" || errs+=("mamori-data is not mounted at /var")
    grep -q '^part /boot/efi .*--fstype=vfat --label mamori-boot' "$e" || errs+=("mamori-boot (FAT) is not at /boot/efi on qemuarm64")
    bf=$(bbvar "$e" IMAGE_BOOT_FILES); [[ $bf == *"mamori/grub.cfg;EFI/BOOT/grub.cfg"* ]] || errs+=("IMAGE_BOOT_FILES '$bf'")
    inst=" $(bbvar "$e" IMAGE_INSTALL) "
    for p in mamori mamori-boot mamori-network dnsmasq grub-editenv kernel-image; do
        [[ $inst == *" $p "* ]] || errs+=("IMAGE_INSTALL lacks $p")
    done
    if [ ${#errs[@]} -eq 0 ]; then
        log "  WKS_FILE=$(basename "$wks")  MAMORI_BOOT_MOUNT=$(bbvar "$e" MAMORI_BOOT_MOUNT)  IMAGE_BOOT_FILES=$(echo $bf)"
        ok "image: bitbake -e mamori-image (read-only-rootfs, the A/B kickstart, GRUB EFI boot files on qemuarm64)"
    else
        printf '  %s\n' "${errs[@]}"; bad "image: bitbake -e mamori-image"
    fi
else
    tail -n 20 "$out/env-image.log" | sed 's/^/  /'; bad "image: bitbake -e mamori-image"
fi

# The same layer with meta-rust-bin (Rust 1.95 on wrynose): it parses (meta-mamori and
# meta-rust-bin; oe-core's recipes masked to save a second full parse) and the recipe
# takes cargo_bin and rust-bin 1.95.
RB=$CACHE/build-rust-bin
write_build "$RB" 1
if as_user "$RB" bitbake -p > "$out/parse-rust-bin.log" 2>&1 && ! grep -q '^ERROR' "$out/parse-rust-bin.log" \
    && as_user "$RB" python3 "$CACHE/getvars.py" mamori __inherit_cache DEPENDS CARGO_BUILD_FLAGS \
        MAMORI_CARGO_OUTDIR LAYERSERIES_COMPAT_rust-bin-layer > "$out/vars-mamori-rust-bin.log" 2>&1 \
    && as_user "$RB" python3 "$CACHE/getvars.py" rust-bin-cross-aarch64 PV > "$out/vars-rust-bin.log" 2>&1; then
    e=$out/vars-mamori-rust-bin.log; errs=()
    [[ " $(bbvar "$e" __inherit_cache) " == *"/cargo_bin.bbclass "* ]] || errs+=("cargo_bin not inherited")
    [[ " $(bbvar "$e" __inherit_cache) " != *"/cargo.bbclass "* ]] || errs+=("oe-core's cargo class inherited too")
    [[ " $(bbvar "$e" DEPENDS) " == *" cargo-bin-cross-aarch64 "* ]] || errs+=("DEPENDS lacks cargo-bin-cross-aarch64")
    [[ $(bbvar "$e" CARGO_BUILD_FLAGS) == *"--frozen -p mamori"* ]] || errs+=("CARGO_BUILD_FLAGS lacks --frozen -p mamori")
    [[ " $(bbvar "$e" LAYERSERIES_COMPAT_rust-bin-layer) " == *" wrynose "* ]] || errs+=("LAYERSERIES_COMPAT_rust-bin-layer lacks wrynose")
    rv=$(bbvar "$out/vars-rust-bin.log" PV); [ "$rv" = 1.95.0 ] || errs+=("rust-bin-cross-aarch64 is '$rv', not 1.95.0")
    if [ ${#errs[@]} -eq 0 ]; then
        grep -E '^(Parsing of|WARNING)' "$out/parse-rust-bin.log" | tail -n 3 | sed 's/^/  /'
        log "  rust-bin-cross-aarch64 $rv; mamori: cargo_bin, CARGO_BUILD_FLAGS ... $(bbvar "$e" CARGO_BUILD_FLAGS | grep -o -- '--frozen -p mamori')"
        ok "rust-bin: with meta-rust-bin (MAMORI_RUST = rust-bin) the layers parse and mamori uses rust-bin $rv"
    else
        printf '  %s\n' "${errs[@]}"; bad "rust-bin"
    fi
else
    grep -E '^ERROR' "$out/parse-rust-bin.log" | head -n 20 | sed 's/^/  /'
    tail -n 20 "$out/vars-mamori-rust-bin.log" "$out/vars-rust-bin.log" 2>/dev/null | sed 's/^/  /'
    bad "rust-bin: parse with meta-rust-bin"
fi

log "logs: $out"
finish
