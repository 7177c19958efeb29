# Helpers shared by the service scripts in this folder (sourced, not run).
# The sourcing script sets svc_name and services_dir.
# shellcheck shell=bash disable=SC2154

svc_die() {
  echo "$svc_name: error: $*" >&2
  exit 1
}

# svc_fail MESSAGE LOGFILE: fail, naming the log and showing its tail.
svc_fail() {
  echo "$svc_name: error: $1" >&2
  if [[ -f $2 ]]; then
    echo "$svc_name: log: $2 (last 30 lines below)" >&2
    tail -n 30 "$2" | sed 's/^/    /' >&2
  fi
  exit 1
}

# svc_which NAME...: print the path of the first NAME found on PATH or in the sbin dirs.
svc_which() {
  local n d
  for n in "$@"; do
    if command -v "$n" 2>/dev/null; then return 0; fi
    for d in /usr/sbin /usr/bin /sbin; do
      if [[ -x $d/$n ]]; then echo "$d/$n"; return 0; fi
    done
  done
  return 1
}

# svc_apt_install PACKAGE...: install Debian packages without starting their system services.
svc_apt_install() {
  [[ $(id -u) == 0 ]] || svc_die "$* missing and installing it needs root (apt-get install $*)"
  command -v apt-get >/dev/null || svc_die "$* missing and apt-get is not available: install $* yourself"
  mkdir -p "$services_dir"
  local log=$services_dir/apt.log policy=/usr/sbin/policy-rc.d made_policy=
  echo "$svc_name: installing $* with apt-get (log: $log)"
  # Keep apt from starting the system's own instance (policy-rc.d exit 101 = "don't").
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  local ok=1
  {
    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update &&
      DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
        install --no-install-recommends "$@"
  } >"$log" 2>&1 || ok=
  [[ -n $made_policy ]] && rm -f "$policy"
  [[ -n $ok ]] || svc_fail "apt-get install $* failed" "$log"
}

# svc_pid_alive PIDFILE COMM...: the pid in PIDFILE is alive and its command is one of COMM.
svc_pid_alive() {
  local pidfile=$1 pid comm
  shift
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  local c
  for c in "$@"; do [[ $comm == "$c" ]] && return 0; done
  return 1
}

# svc_port_free PORT VAR: fail clearly when something already listens on 127.0.0.1:PORT.
svc_port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    svc_die "127.0.0.1:$1 is already in use by another process; pick another port with $2=..."
  fi
}

# svc_wait_exit PID SECONDS: wait for PID to exit, SIGKILL it after SECONDS; fails if it survives.
svc_wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      ! kill -0 "$pid" 2>/dev/null
      return
    fi
    sleep 0.2
  done
}

# svc_lock DIR: serialise start/stop of one instance (parallel test runs share it).
svc_lock() {
  mkdir -p "$1"
  exec 9>"$1/.lock" # the servers are started with 9>&- so they do not hold it
  flock -w 120 9 || svc_die "another start/stop of $1 still holds $1/.lock after 120s"
}

# svc_main ARGS: the command line every script takes (start|stop|status|
# env). The script defines start, stop, env_ and serving, and sets dir,
# host and port.
svc_main() {
  case ${1:-} in
    start) svc_lock "$dir" && start ;;
    stop) svc_lock "$dir" && stop ;;
    status)
      if serving; then
        echo "$svc_name: running on $host:$port"
      else
        echo "$svc_name: not running"
        exit 1
      fi
      ;;
    env) env_ ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
  esac
}
