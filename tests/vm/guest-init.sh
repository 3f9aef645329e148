#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk test VM, stage 2: PID 1 after switch_root into the host's root
# filesystem (read-only 9p, with tmpfs and overlays where writes are needed).
# Reads the job description from the results share, runs it, writes
# results there and powers off. Never exits (PID 1 must not).
# One compound command, read whole before it runs: editing this file
# while a VM runs it cannot derail it.
{
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RESULTS=/run/natk-results
. "$HERE/session.sh"

finish() {
	sync
	umount "$RESULTS" 2>/dev/null
	echo "natk-guest: powering off"
	poweroff -f 2>/dev/null || echo o > /proc/sysrq-trigger
	sleep 30
	echo o > /proc/sysrq-trigger
	while :; do sleep 60; done
}
trap finish EXIT

mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mkdir -p /dev/pts /dev/shm /run/netns
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname natk-vm
ip link set lo up

# Job description written by the host: NATK_MODE, NATK_TESTS, NATK_REPO ...
# and the optional settings tests/vm/boot.sh passes on (its list is the only
# one): all of it is exported.
if [ -r "$RESULTS/job.env" ]; then
	set -a
	. "$RESULTS/job.env"
	set +a
fi
: "${NATK_MODE:=check}"
export NATK_MODE NATK_RESULTS="$RESULTS/results.txt"
# A kernel that is not installed on the host (tests/check-debug.sh) has its
# module directory elsewhere: show it at /lib/modules/KVER, writable (an
# overlay, as natk_install adds natk.ko and the module index there).
if [ -n "${NATK_GUEST_MODDIR:-}" ] && [ -d "$NATK_GUEST_MODDIR" ]; then
	m=/lib/modules/$(uname -r)
	mkdir -p "$m" /run/ovl/natk-moddir/upper /run/ovl/natk-moddir/work
	mount -t overlay overlay -o "lowerdir=$NATK_GUEST_MODDIR,upperdir=/run/ovl/natk-moddir/upper,workdir=/run/ovl/natk-moddir/work" "$m" ||
		echo "natk-guest: cannot mount $NATK_GUEST_MODDIR at $m"
fi
export NATK_REPO=${NATK_REPO:-$(cd "$HERE/../.." && pwd)}
# NATK_FAST_PATH=auto|on|off: every "modprobe natk" gets fast_path= (make
# check-slowpath runs every scenario with the fast path off).
if [ -n "${NATK_FAST_PATH:-}" ]; then
	mkdir -p /run/modprobe.d
	echo "options natk fast_path=$NATK_FAST_PATH" > /run/modprobe.d/natk-test.conf
fi

echo "natk-guest: kernel $(uname -r), mode $NATK_MODE, repo $NATK_REPO"
echo "$(uname -r)" > "$RESULTS/kernel"
: > "$NATK_RESULTS"

# run_job SCRIPT: run SCRIPT (bash) as the leader of a session of its own,
# in a cgroup of its own (session.sh), its output copied to the console and
# to guest.log. When it ends, whatever it left running (its trap should
# have stopped it) is stopped and FAILs guest-job-left-running, so that no
# background helper keeps the output pipe open (and us waiting for tee)
# forever. A process that left both and still holds the pipe is killed too.
run_job() {
	local fifo=/run/natk-job.out tee_pid sid rc i holders cg
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	tee "$RESULTS/guest.log" < "$fifo" &
	tee_pid=$!
	cg=$(cg_new job) || echo "natk-guest: no cgroup2: leftovers are searched by session only"
	( cg_enter "$cg"; exec setsid bash "$1" > "$fifo" 2>&1 < /dev/null ) &
	sid=$!
	# From here on natk's tests run; a hang before is the VM's (boot.sh).
	: > "$RESULTS/started"
	wait "$sid"
	rc=$?
	if ! job_stop "$sid" "$cg" "the job $1"; then
		echo "FAIL guest-job-left-running: $1 ended and left running: $JOB_LEFT" >> "$NATK_RESULTS"
	fi
	job_end "$cg"
	# tee ends when the last writer closes the FIFO.
	for i in $(seq 50); do
		kill -0 "$tee_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$tee_pid" 2>/dev/null; then
		holders=$(fd_holders "$fifo" "$tee_pid")
		echo "natk-guest: killing what holds the job's output outside its session:" \
			"$(for i in $holders; do printf '%s(%s) ' "$(cat "/proc/$i/comm" 2>/dev/null)" "$i"; done)"
		# shellcheck disable=SC2086
		[ -n "$holders" ] && kill -KILL $holders 2>/dev/null
		for i in $(seq 20); do
			kill -0 "$tee_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$tee_pid" 2>/dev/null
	fi
	wait "$tee_pid" 2>/dev/null
	rm -f "$fifo"
	return "$rc"
}

case $NATK_MODE in
check) job=tests/vm/guest-run.sh ;;
demo) job=tests/vm/guest-demo.sh ;;
# Any other mode names a script to run (path relative to the repo).
*) job=$NATK_MODE ;;
esac
run_job "$NATK_REPO/$job"
echo "$?" > "$RESULTS/job-rc"
dmesg > "$RESULTS/dmesg.txt" 2>/dev/null
echo done > "$RESULTS/done"
exit 0
}
