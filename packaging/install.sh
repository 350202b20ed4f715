#!/bin/sh
# Installs nodepulse from an unpacked release (`npm run release` writes it; scripts/release.mjs).
# Run `install.sh --help` for the usage and the exit codes.
set -eu
LC_ALL=C
export LC_ALL
# Directories and files readable by the daemons' dynamic users whatever the caller's umask.
umask 022

OPT=/opt/nodepulse
ETC=/etc/nodepulse
UNITS=/etc/systemd/system

usage() {
  cat <<'EOF'
Usage: install.sh agent|coordinator [--prefix DIR] [--uninstall]

Installs a nodepulse daemon from this release directory:
  agent        /opt/nodepulse/dist/nodepulse-agent.mjs (the one-file agent, nothing else needed
               but Node.js 20.19+ at /usr/bin/node), /etc/nodepulse/agent.yaml and agent.env,
               /etc/systemd/system/nodepulse-agent.service
  coordinator  /opt/nodepulse/{package.json,dist,node_modules,bin}, /etc/nodepulse/coordinator.yaml
               and coordinator.env, /etc/systemd/system/nodepulse-coordinator.service
Both also copy the examples, the docs and this script into /opt/nodepulse, and list what they
installed in /opt/nodepulse/installed-<daemon>.files (what --uninstall removes).

Configs: a missing one is created from its example (env files mode 0600: they hold tokens; the
YAML files 0644: the daemon's dynamic user reads them). An existing one you edited is never
overwritten: the new example is written next to it as <file>.new. One you never edited is
updated to the new example.

systemd: when systemd runs and nothing is staged, the unit is enabled (systemctl daemon-reload,
systemctl enable). It is also (re)started when its env file already existed; on a first install
it is not started until you have set the tokens there: then `systemctl start nodepulse-<daemon>`.
State (/var/lib/nodepulse-agent, /var/lib/nodepulse-coordinator) is never touched.

Options:
  --prefix DIR  install under DIR instead of / (staging, e.g. an image); the same as DESTDIR=DIR.
                Never runs systemctl, needs no root, and only warns about Node.js.
  --uninstall   stop and disable the unit, remove the files this daemon installed (not those the
                other daemon still uses), remove configs still equal to their example; edited
                configs and the state directory are kept, and named.
  -h, --help    this text.

Exit codes:
  0   done (also --uninstall of a daemon that is not installed)
  1   a step failed (a release file missing, a copy, systemctl); the message names it
  2   usage error (no daemon named, an unknown option)
  69  Node.js 20.19+ (or 22.12+) not found at /usr/bin/node or on PATH
  77  not root: installing into / needs root (or stage with --prefix DIR)
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
  code=$1
  shift
  printf 'install.sh: error: %s\n' "$*" >&2
  exit "$code"
}
usage_error() { die 2 "$* (install.sh --help shows the usage)"; }

daemon=''
uninstall=no
root=${DESTDIR:-}
while [ $# -gt 0 ]; do
  case $1 in
    agent | coordinator)
      [ -z "$daemon" ] || usage_error "name one daemon at a time"
      daemon=$1
      ;;
    --prefix)
      [ $# -ge 2 ] && [ -n "$2" ] || usage_error "--prefix needs a directory"
      root=$2
      shift
      ;;
    --prefix=*)
      root=${1#--prefix=}
      [ -n "$root" ] || usage_error "--prefix needs a directory"
      ;;
    --uninstall) uninstall=yes ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
[ -n "$daemon" ] || usage_error "name the daemon to install: agent or coordinator"

# The staging root, absolute and without a trailing slash; empty for a real install into /.
case $root in
  '' | /) root='' ;;
  /*) root=${root%/} ;;
  *) root=$(pwd)/${root%/} ;;
esac
staging=no
[ -z "$root" ] || staging=yes

src=$(cd "$(dirname "$0")" && pwd)
unit=nodepulse-$daemon.service
manifest=$root$OPT/installed-$daemon.files
if [ "$daemon" = agent ]; then other=coordinator; else other=agent; fi
other_manifest=$root$OPT/installed-$other.files
# The daemon's configs: the example (a path in the release and in /opt/nodepulse), the file in /etc/nodepulse, its mode.
configs="config/$daemon.example.yaml $daemon.yaml 0644
systemd/nodepulse-$daemon.env.example $daemon.env 0600"

if [ "$staging" = no ] && [ "$(id -u)" != 0 ]; then
  die 77 "installing into / needs root: run it with sudo, or stage it with --prefix DIR"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

systemd_running() {
  [ "$staging" = no ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

systemctl_do() {
  systemctl "$@" || die 1 "systemctl $* failed"
}

# The node the units run (/usr/bin/node), else the one on PATH; empty when there is none.
find_node() {
  if [ -x /usr/bin/node ]; then
    echo /usr/bin/node
  else
    command -v node 2>/dev/null || true
  fi
}

node_supported() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a >= 23 ? 0 : 1)' 2>/dev/null
}

# Node.js 20.19+ at /usr/bin/node (the units' ExecStart): required for a real install, a warning when staging.
check_node() {
  node=$(find_node)
  if [ -z "$node" ]; then
    [ "$staging" = yes ] && { warn "Node.js is not installed here; the unit runs /usr/bin/node (20.19 or newer)"; return; }
    die 69 "Node.js 20.19 or newer is needed (the unit runs /usr/bin/node) and none was found: install it first"
  fi
  if ! node_supported "$node"; then
    version=$("$node" --version 2>/dev/null || echo unknown)
    [ "$staging" = yes ] && { warn "$node is Node.js $version; nodepulse needs 20.19+ or 22.12+"; return; }
    die 69 "$node is Node.js $version; nodepulse needs 20.19+ or 22.12+ (the unit runs /usr/bin/node)"
  fi
  if [ "$node" != /usr/bin/node ]; then
    warn "the unit runs /usr/bin/node, which does not exist (Node.js is $node): link it (ln -s $node /usr/bin/node) or override ExecStart (systemctl edit $unit)"
  fi
}

# The files the daemon takes from the release, relative to it, sorted.
release_files() {
  if [ "$daemon" = agent ]; then
    printf '%s\n' dist/nodepulse-agent.mjs docs/agent.md config/agent.example.yaml systemd/nodepulse-agent.env.example install.sh release.json
  else
    (cd "$src" && find package.json release.json install.sh README.md bin dist node_modules docs \
      config/coordinator.example.yaml systemd/nodepulse-coordinator.env.example ! -type d)
  fi | sort
}

# put SOURCE TARGET MODE: a new file replaces TARGET by a rename, never half-written; readable only by root until chmod.
put() {
  (umask 077 && cp "$1" "$2.tmp.$$")
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

# install_config EXAMPLE NAME MODE: /etc/nodepulse/NAME from the release's EXAMPLE, never over an edited file.
# Sets created=yes when NAME did not exist.
install_config() {
  example=$src/$1
  target=$root$ETC/$2
  previous=$root$OPT/$1
  created=no
  if [ ! -e "$target" ]; then
    put "$example" "$target" "$3"
    created=yes
    say "created $ETC/$2 from the example (mode $3): edit it"
  elif cmp -s "$target" "$example"; then
    say "kept $ETC/$2 (the same as the new example)"
  elif [ -f "$previous" ] && cmp -s "$target" "$previous"; then
    put "$example" "$target" "$3"
    say "updated $ETC/$2 to the new example (it was never edited)"
  else
    put "$example" "$target.new" "$3"
    say "kept your edited $ETC/$2; the new example is $ETC/$2.new (diff $ETC/$2 $ETC/$2.new)"
  fi
}

# remove_config EXAMPLE NAME: removes /etc/nodepulse/NAME (and NAME.new) only while equal to the installed example.
remove_config() {
  example=$root$OPT/$1
  for target in "$root$ETC/$2" "$root$ETC/$2.new"; do
    [ -e "$target" ] || continue
    if [ -f "$example" ] && cmp -s "$target" "$example"; then
      rm -f "$target"
    else
      say "kept ${target#"$root"} (edited): remove it by hand if it is no longer needed"
    fi
  done
}

# Removes the paths (under /, one a line) listed in file $1 that the other daemon's manifest does not list.
remove_unshared() {
  if [ -f "$other_manifest" ]; then sort "$other_manifest" >"$work/other"; else : >"$work/other"; fi
  # One rm for thousands of paths (node_modules), not one process each.
  sort "$1" | comm -23 - "$work/other" | sed "s|^|$root|" | tr '\n' '\0' | xargs -0 rm -f
  [ ! -d "$root$OPT" ] || find "$root$OPT" -depth -type d -empty -delete
}

check_sqlite_driver() {
  node=$(find_node)
  [ -n "$node" ] || return 0
  if (cd "$root$OPT" && "$node" -e 'const Database = require("better-sqlite3"); new Database(":memory:").close()') >/dev/null 2>&1; then
    say "the SQLite driver (better-sqlite3) loads under $node"
    return 0
  fi
  built=$(sed -n 's/.*"node": *"\([0-9]*\)\..*/\1/p' "$src/release.json")
  warn "the SQLite driver (better-sqlite3) does not load under $node ($("$node" --version))${built:+; this release's was built for Node.js $built on linux-x64}."
  warn "A coordinator on a SQLite store exits 69 until you either install build tools (python3, make, a C++ compiler)"
  warn "and run 'cd $OPT && npm rebuild better-sqlite3', or set a postgres:// store (no native code) in $ETC/coordinator.env."
}

uninstall_daemon() {
  if [ ! -f "$manifest" ]; then
    say "nodepulse $daemon is not installed under ${root:-/} (no ${manifest#"$root"}): nothing to do"
    return 0
  fi
  if systemd_running; then
    systemctl disable --now "$unit" 2>/dev/null || warn "systemctl disable --now $unit failed; removing its files anyway"
  fi
  echo "$configs" | while read -r example name mode; do
    remove_config "$example" "$name"
  done
  remove_unshared "$manifest"
  rm -f "$manifest"
  [ ! -d "$root$OPT" ] || find "$root$OPT" -depth -type d -empty -delete
  [ ! -d "$root$ETC" ] || rmdir "$root$ETC" 2>/dev/null || true
  if systemd_running; then systemctl_do daemon-reload; fi
  say "uninstalled nodepulse $daemon from ${root:-/}"
  for state in "/var/lib/nodepulse-$daemon" "/var/lib/private/nodepulse-$daemon"; do
    [ ! -e "$root$state" ] || say "kept its state in $state (remove it by hand to forget this host's identity and data)"
  done
}

install_daemon() {
  [ -f "$src/release.json" ] && [ -f "$src/systemd/$unit" ] ||
    die 1 "$src is not an unpacked nodepulse release (no release.json or systemd/$unit): run install.sh from the release directory"
  check_node
  release_files >"$work/files"
  while IFS= read -r file; do
    [ -e "$src/$file" ] || die 1 "the release lacks $file"
  done <"$work/files"
  sed "s|^|$OPT/|" "$work/files" >"$work/manifest"
  echo "$UNITS/$unit" >>"$work/manifest"

  mkdir -p "$root$OPT" "$root$UNITS"
  [ -d "$root$ETC" ] || mkdir -m 0755 -p "$root$ETC"

  # Configs first: an unedited one is recognised by the example the previous install left in /opt/nodepulse.
  env_existed=yes
  while read -r example name mode; do
    install_config "$example" "$name" "$mode"
    case $name in *.env) env_existed=$([ "$created" = yes ] && echo no || echo yes) ;; esac
  done <<EOF
$configs
EOF

  # Files an earlier version installed and this one does not (and the other daemon does not use).
  if [ -f "$manifest" ]; then
    sort "$work/manifest" >"$work/new"
    sort "$manifest" | comm -23 - "$work/new" >"$work/stale"
    remove_unshared "$work/stale"
    mkdir -p "$root$OPT"
  fi
  # The old files are unlinked before tar writes new ones: a running daemon keeps the file it
  # mapped (the SQLite driver's .node) instead of seeing it rewritten under it.
  (cd "$src" && tar -cf "$work/files.tar" -T "$work/files") || die 1 "reading the release's files from $src failed"
  (cd "$root$OPT" && tr '\n' '\0' <"$work/files" | xargs -0 rm -f && tar -xf "$work/files.tar" --no-same-owner) ||
    die 1 "copying the release into $root$OPT failed"
  put "$src/systemd/$unit" "$root$UNITS/$unit" 0644
  put "$work/manifest" "$manifest" 0644
  say "installed nodepulse $daemon into ${root:-/} ($(wc -l <"$work/files" | tr -d ' ') files under $OPT, $UNITS/$unit)"

  [ "$daemon" = agent ] || check_sqlite_driver

  if systemd_running; then
    systemctl_do daemon-reload
    systemctl_do enable "$unit"
    if [ "$env_existed" = yes ]; then
      systemctl_do restart "$unit"
      say "enabled and (re)started $unit: systemctl status $unit"
    else
      say "enabled $unit; set the tokens in $ETC/$daemon.env (and edit $ETC/$daemon.yaml), then: systemctl start $unit"
    fi
  elif [ "$staging" = no ]; then
    say "systemd is not running here: start the daemon with the ExecStart= line of $UNITS/$unit"
  fi
}

if [ "$uninstall" = yes ]; then uninstall_daemon; else install_daemon; fi
