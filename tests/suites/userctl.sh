#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host suite for make check: natkctl's own offline tests (userctl/tests,
# what `make -C userctl check` runs), one line per check:
#   PASS userctl-unit-NAME    a test function of test_unit.c (printer,
#                             parsers, netlink callbacks)
#   PASS userctl-unit-json    the JSON samples test_unit prints parse
#   PASS userctl-nl-NAME      nk_request against the kernel's nlctrl
#                             family (test_nl.c)
#   PASS userctl-cli          natkctl's command line (test_cli.sh)
# and the PLAN line of userctl/tests/run.sh. Builds test_unit and test_nl
# (not natkctl: make check built it, or NATK_SKIP_BUILD=1 says to use
# what is there).
set -uo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$HERE/.." && pwd)

if ! out=$(make --no-print-directory -C "$REPO/userctl" test_unit test_nl 2>&1); then
	echo "$out" | tail -n 20
	echo "FAIL userctl-tests-build: make -C userctl test_unit test_nl failed: $(echo "$out" | grep -m1 -E 'error|Error' | cut -c1-200)"
	exit 1
fi
"$REPO/userctl/tests/run.sh"
