# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# natk test VM: every guest job (guest-init.sh) and every scenario
# (guest-run.sh) runs as the leader of a session of its own, and in a
# cgroup of its own, started with
#   ( cg_enter "$CG"; exec setsid CMD... ) &  SID=$!
# (from a script, so without job control: the background child is no
# process group leader, setsid(1) does not fork and $! is the session id).
# Its own trap must stop whatever it starts in the background (peer
# servers, socat, sleep, iperf3 ...); job_stop finds what is left by
# session and by cgroup, stops it and says so. The cgroup also holds what
# left the session (setsid, a daemon that double-forks and re-parents to
# PID 1): only a write to some cgroup.procs takes a process out of it.
# Without cgroup2 at /sys/fs/cgroup, the session alone is searched.
# Sourced by guest-init.sh and guest-run.sh.

NATK_CGROOT=${NATK_CGROOT:-/sys/fs/cgroup}

# cg_new NAME: a fresh, empty cgroup natk-NAME at the cgroup2 root (what a
# previous one held is killed); prints its path, fails without cgroup2.
# At the root, not nested: a scenario may enable controllers there
# (19-memcg), and a cgroup with processes cannot have controlled children.
cg_new() {
	local cg=$NATK_CGROOT/natk-$1
	[ -e "$NATK_CGROOT/cgroup.procs" ] || return 1
	if [ -d "$cg" ]; then
		cg_kill "$cg"
		rmdir "$cg" 2>/dev/null || return 1
	fi
	mkdir "$cg" 2>/dev/null && echo "$cg"
}

# cg_enter CG: move the calling (sub)shell into cgroup CG (no-op without)
cg_enter() {
	[ -n "${1:-}" ] || return 0
	echo "$BASHPID" > "$1/cgroup.procs" 2>/dev/null
}

# cg_kill CG: SIGKILL everything in CG (cgroup.kill, Linux 5.14+)
cg_kill() {
	[ -n "${1:-}" ] && [ -d "$1" ] || return 0
	echo 1 > "$1/cgroup.kill" 2>/dev/null ||
		xargs -r kill -KILL < "$1/cgroup.procs" 2>/dev/null
	return 0
}

# job_pids SID CG: pid and command of every live process left in session
# SID or cgroup CG (CG may be empty), one per line, sorted by pid. Zombies
# do not count: they are dead, their parent (PID 1 or a killed
# scenario's) reaps them in its time.
job_pids() {
	local sid=$1 cg=${2:-} p st comm
	{
		ps -o pid=,stat=,comm= --sid "$sid" 2>/dev/null | awk '$2 !~ /^Z/ { print $1, $3 }'
		if [ -n "$cg" ] && [ -r "$cg/cgroup.procs" ]; then
			# (builtins only: this runs often, and forks are slow
			# under TCG)
			while read -r p; do
				# /proc/PID/stat: "PID (COMM) STATE ..."
				read -r st < "/proc/$p/stat" 2> /dev/null || continue
				st=${st##*) }
				case ${st%% *} in Z | X) continue ;; esac
				read -r comm < "/proc/$p/comm" 2> /dev/null
				echo "$p $comm"
			done < "$cg/cgroup.procs"
		fi
	} | sort -n -u -k1,1
}

# job_stop SID CG WHAT: whatever the job (session SID, cgroup CG) left
# running when it ended. Waits up to 2 s for it to go by itself (a
# process already killed by the job's trap may take a moment to die), then
# SIGTERM, after 3 s SIGKILL, to the session and the cgroup. Says on
# stdout what it stopped; JOB_LEFT is "comm(pid) ..." of what it had to
# stop, empty if nothing. Status 0 when nothing was left, 1 otherwise.
job_stop() {
	local sid=$1 cg=$2 what=$3 left
	JOB_LEFT=
	left=$(job_pids "$sid" "$cg")
	[ -n "$left" ] || return 0
	_job_gone_within 2 "$sid" "$cg" && return 0
	left=$(job_pids "$sid" "$cg")
	JOB_LEFT=$(echo "$left" | awk '{ printf "%s%s(%s)", (NR > 1 ? " " : ""), $2, $1 }')
	echo "natk-guest: stopping what $what left running: $JOB_LEFT"
	pkill -TERM -s "$sid" 2>/dev/null
	# shellcheck disable=SC2046
	[ -n "$cg" ] && kill -TERM $(echo "$left" | awk '{ print $1 }') 2>/dev/null
	_job_gone_within 3 "$sid" "$cg" && return 1
	pkill -KILL -s "$sid" 2>/dev/null
	cg_kill "$cg"
	_job_gone_within 2 "$sid" "$cg" && return 1
	echo "natk-guest: still running in $what's session or cgroup after SIGKILL: $(job_pids "$sid" "$cg" | tr '\n' ' ')"
	return 1
}

# _job_gone_within SECONDS SID CG: until nothing is left of the job
_job_gone_within() {
	local end=$(( $(date +%s) + $1 ))
	while [ -n "$(job_pids "$2" "$3")" ]; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# job_end CG: remove the job's cgroup once it is empty
job_end() {
	[ -n "${1:-}" ] && rmdir "$1" 2>/dev/null
	return 0
}

# fd_holders PATH [EXCEPT_PID]: pids of the processes with PATH (say a
# FIFO) open, except EXCEPT_PID
fd_holders() {
	find /proc/[0-9]*/fd -maxdepth 1 -lname "$1" 2>/dev/null |
		cut -d/ -f3 | sort -un | grep -vx "${2:-0}"
}
