#!/bin/sh
# Run by tests/deb.rs inside `unshare --mount --net --pid --fork --mount-proc` (every process
# started here ends with this script): a throwaway root (an overlay over this
# machine's /, on a tmpfs that disappears with the namespace), where Debian's distcc is
# configured and enabled, then our .deb is installed over it with dpkg. Checks that the
# helper keeps its settings and its enabled state and still serves a compile, that
# distcc-pump stays, and that purging and reinstalling leave nothing behind.
# Usage: upgrade.sh WORKDIR DEB.  Nothing here writes to this machine's /etc or /usr.
set -eu
T=$1
DEB=$2
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
step() { echo "== $*"; }

ip link set lo up
mount --make-rprivate /
mount -t tmpfs tmpfs "$T"
mkdir "$T/upper" "$T/work" "$T/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$T/root"
R=$T/root
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/tmp"
mount -t tmpfs tmpfs "$R/run"
cp "$DEB" "$R/tmp/distcc-rs.deb"
# No service is started by a maintainer script in here (invoke-rc.d, deb-systemd-invoke).
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
in_root() {
    chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive HOME=/root "$@"
}
status() { in_root dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || echo not-installed; }

step "Debian's distcc, configured and enabled"
[ "$(status distcc)" = installed ] || fail "Debian's distcc is not installed on this machine"
[ "$(status distcc-pump)" = installed ] || fail "Debian's distcc-pump is not installed on this machine"
cat >"$R/etc/default/distcc" <<'DEFAULTS'
# Defaults for distcc initscript (as Debian's postinst writes it, with an admin's values)
STARTDISTCC="true"
ALLOWEDNETS="127.0.0.1 10.3.0.0/16"
LISTENER="127.0.0.1"
NICE="10"
JOBS="3"
ZEROCONF="false"
DEFAULTS
in_root update-rc.d distcc defaults >/dev/null
in_root update-rc.d distcc enable >/dev/null 2>&1
ls "$R"/etc/rc2.d/S??distcc >/dev/null || fail "no start link for Debian's init script"

step "install our package over it"
in_root dpkg -i /tmp/distcc-rs.deb || fail "dpkg -i failed"
[ "$(status distcc-rs)" = installed ] || fail "distcc-rs is $(status distcc-rs)"
[ "$(status distcc-pump)" = installed ] || fail "distcc-pump was removed: $(status distcc-pump)"
[ "$(status distcc)" = config-files ] || fail "Debian's distcc is $(status distcc)"
in_root dpkg --audit | grep . && fail "dpkg --audit reports problems"
in_root apt-get check -qq || fail "apt-get check: broken dependencies"

step "the settings and the enabled state"
want='DISTCC_ARGS="--allow 127.0.0.1 --allow 10.3.0.0/16 --listen 127.0.0.1 --nice 10 --jobs 3 --log-file /var/log/distccd/distccd.log"'
grep -qxF "$want" "$R/etc/conf.d/distccd" || fail "conf.d/distccd: $(cat "$R/etc/conf.d/distccd")"
[ -L "$R/etc/systemd/system/multi-user.target.wants/distccd.service" ] ||
    fail "distccd.service is not enabled"
# Debian's init script no longer runs (its package's postrm made it non-executable), so
# neither sysvinit nor systemd's generator starts a second daemon on port 3632.
[ ! -x "$R/etc/init.d/distcc" ] || fail "Debian's init script is still executable"

step "the helper serves with the old settings, started as the unit starts it"
exec_start=$(sed -n 's/^ExecStart=//p' "$R/usr/lib/systemd/system/distccd.service")
[ "$exec_start" = '/usr/bin/distccd --no-detach --daemon $DISTCC_ARGS' ] ||
    fail "ExecStart changed: $exec_start (update this test)"
grep -qx 'EnvironmentFile=-/etc/conf.d/distccd' "$R/usr/lib/systemd/system/distccd.service" ||
    fail "the unit does not read /etc/conf.d/distccd"
# What systemd does: User=distccd, LogsDirectory=distccd, the arguments split on spaces.
install -d -o distccd "$R/var/log/distccd"
mkdir -p "$R/tmp/w"
chmod 1777 "$R/tmp/w"
chroot "$R" /usr/bin/env -i PATH=/usr/bin:/bin sh -c '. /etc/conf.d/distccd
    exec setpriv --reuid=distccd --regid=$(id -g distccd) --clear-groups \
    /usr/bin/distccd --no-detach --daemon $DISTCC_ARGS' &
# A simple command in the background: chroot, env, sh and setpriv each exec the next, so
# this is distccd's pid.
pid=$!
# The migrated options log warnings only: wait for the port instead of a log line.
i=0
until [ -n "$(ss -Hltn 'sport = :3632')" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "distccd did not start listening on 3632"
    kill -0 "$pid" || fail "distccd exited"
    sleep 0.05
done
args=$(tr '\0' ' ' <"/proc/$pid/cmdline")
[ "$args" = "/usr/bin/distccd --no-detach --daemon --allow 127.0.0.1 --allow 10.3.0.0/16 --listen 127.0.0.1 --nice 10 --jobs 3 --log-file /var/log/distccd/distccd.log " ] ||
    fail "distccd runs as: $args"
# --nice adds to the niceness it was started with (nice(2), as distccd 3.4 and a unit's
# default of 0); this script may itself run niced.
base=$(ps -o ni= -p $$ | tr -d ' ')
want_nice=$((base + 10 > 19 ? 19 : base + 10))
nice=$(ps -o ni= -p "$pid" | tr -d ' ')
[ "$nice" = "$want_nice" ] || fail "distccd runs at nice $nice, not $want_nice"
printf 'int add(int a, int b) { return a + b; }\n' >"$R/tmp/w/x.c"
in_root sh -c 'cd /tmp/w && DISTCC_HOSTS=127.0.0.1 DISTCC_FALLBACK=0 DISTCC_DIR=/tmp/w \
    distcc gcc -O2 -c x.c -o remote.o && gcc -O2 -c x.c -o local.o && cmp remote.o local.o' ||
    fail "the remote compile failed or differs from a local one"
kill "$pid"
wait

step "Debian's leftovers can be purged, as docs/guide/install.md says"
# Debian's postrm runs `rm -f /var/log/distcc*` under `set -e`, which fails on our log
# directory: the guide moves it aside for the purge.
mv "$R/var/log/distccd" "$R/var/tmp/distccd.keep"
in_root dpkg --purge distcc || fail "dpkg --purge distcc failed"
mv "$R/var/tmp/distccd.keep" "$R/var/log/distccd"
[ ! -e "$R/etc/init.d/distcc" ] || fail "Debian's init script is still there"
ls "$R"/etc/rc?.d/*distcc 2>/dev/null && fail "Debian's rc links are still there"
[ -s "$R/etc/conf.d/distccd" ] || fail "purging Debian's distcc took our configuration"

# Paths with distcc in their name that the throwaway root gained or changed (not whiteouts
# of removed files, not dpkg's or debconf's own records).
leftovers() {
    (cd "$T/upper" && find . -name '*distcc*' ! -type c) |
        grep -v -e '^\./var/lib/dpkg/' -e '^\./var/cache/debconf/' -e '^\./tmp/' || true
}

step "purge, then nothing is left"
# The sweep below sees what the package made (else it would prove nothing).
leftovers | grep -qx './etc/conf.d/distccd' || fail "the leftover sweep does not see conf.d"
in_root dpkg --purge distcc-pump distcc-rs || fail "dpkg --purge distcc-rs failed"
left=$(leftovers)
[ -z "$left" ] || fail "left behind after purge: $left"
in_root getent passwd distccd >/dev/null || fail "the distccd user went away"

step "reinstall on a clean machine, purge again"
in_root dpkg -i /tmp/distcc-rs.deb || fail "reinstall failed"
cmp "$R/etc/conf.d/distccd" "$R/usr/share/distcc-rs/conf.d/distccd" ||
    fail "a fresh install does not start from the example configuration"
[ ! -e "$R/etc/systemd/system/multi-user.target.wants/distccd.service" ] ||
    fail "a fresh install enabled the daemon before --allow is set"
[ -e "$R/usr/lib/distcc/gcc" ] || fail "no whitelist link for gcc"
in_root distcc --version | grep -q "distcc-rs" || fail "distcc --version"
in_root dpkg --purge distcc-rs || fail "second purge failed"
left=$(leftovers)
[ -z "$left" ] || fail "left behind after the second purge: $left"
echo "upgrade.sh: all checks passed"
