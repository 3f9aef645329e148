# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# natk test VM: every guest job (guest-init.sh) and every scenario
# (guest-run.sh) runs as the leader of a session of its own, started with
#   setsid CMD... &  SID=$!
# (from a script, so without job control: the background child is no
# process group leader, setsid(1) does not fork and $! is the session id).
# Whatever it leaves running in the background (peer servers, socat,
# sleep, iperf3 ...) is then found by session and stopped here, so that
# nothing keeps the job's output pipe open or leaks into the next scenario.
# Sourced by guest-init.sh and guest-run.sh.

# session_pids SID: pid and command of every process left in session SID
# (zombies are gone already: their parent, PID 1, reaps them in its time)
session_pids() {
	ps -o pid=,stat=,comm= --sid "$1" 2>/dev/null | awk '$2 !~ /^Z/ { print $1, $3 }'
}

# session_stop SID WHAT: SIGTERM, then after 3 s SIGKILL, every process of
# session SID; says on stdout what it stopped (WHAT names the job).
session_stop() {
	local sid=$1 what=$2 left
	left=$(session_pids "$sid")
	[ -n "$left" ] || return 0
	echo "natk-guest: stopping what $what left running: $(echo "$left" | awk '{ printf "%s%s(%s)", (NR > 1 ? " " : ""), $2, $1 }')"
	pkill -TERM -s "$sid" 2>/dev/null
	for _ in $(seq 30); do
		[ -n "$(session_pids "$sid")" ] || return 0
		sleep 0.1
	done
	pkill -KILL -s "$sid" 2>/dev/null
	for _ in $(seq 20); do
		[ -n "$(session_pids "$sid")" ] || return 0
		sleep 0.1
	done
	echo "natk-guest: still running in $what's session after SIGKILL: $(session_pids "$sid" | tr '\n' ' ')"
	return 1
}

# fd_holders PATH [EXCEPT_PID]: pids of the processes with PATH (say a
# FIFO) open, except EXCEPT_PID
fd_holders() {
	find /proc/[0-9]*/fd -maxdepth 1 -lname "$1" 2>/dev/null |
		cut -d/ -f3 | sort -un | grep -vx "${2:-0}"
}
