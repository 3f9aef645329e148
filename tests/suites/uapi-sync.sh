#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host suite for make check: the netlink fuzzer's client (tests/fuzz/natknl.py)
# keeps its own copy of include/uapi/linux/natk.h's numbers. A copy that
# falls behind fuzzes the old contract: attributes appended since are only
# ever sent with random sizes. This compiles the copy against the header:
#   PASS uapi-sync-fuzzer     every number agrees, no attribute is missing
#   FAIL uapi-sync-fuzzer: what differs
set -uo pipefail
echo "PLAN uapi-sync-fuzzer"

HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$HERE/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# A C file of static asserts, one per number natknl.py holds, plus an
# #error for each attribute of the header that natknl.py lacks (NATK_A_*
# and the nests': FWD, PREFIX, MAP, RANGE, POOL).
if ! PYTHONDONTWRITEBYTECODE=1 python3 - "$REPO" > "$TMP/sync.c" 2> "$TMP/gen.err" <<'EOF'
import re
import sys

repo = sys.argv[1]
sys.path.insert(0, repo + "/tests/fuzz")
import natknl as nl  # noqa: E402

hdr = open(repo + "/include/uapi/linux/natk.h").read()


def enumerators(prefix):
    """NAME of every enumerator PREFIXNAME in the header."""
    return re.findall(r"^\s*" + prefix + r"(\w+)\s*[,=]", hdr, re.M)


print('#include "linux/natk.h"')
checks = []
for name, val in nl.A.items():
    checks.append(("NATK_A_" + name, val))
for name, val in nl.FWD_A.items():
    checks.append(("NATK_FWD_A_" + name, val))
for name, val in nl.PREFIX_A.items():
    checks.append(("NATK_PREFIX_A_" + name, val))
for name, val in nl.MAP_A.items():
    checks.append(("NATK_MAP_A_" + name, val))
for name, val in nl.RANGE_A.items():
    checks.append(("NATK_RANGE_A_" + name, val))
for name, val in nl.POOL_A.items():
    checks.append(("NATK_POOL_A_" + name, val))
for name, val in nl.ADDRS_MODE.items():
    checks.append(("NATK_ADDRS_" + name, val))
for sym in dir(nl):
    if sym.startswith("NATK_CMD_") or sym in (
            "NATK_A_MAX", "NATK_FWD_A_MAX", "NATK_FLOW_A_MAX",
            "NATK_PREFIX_A_MAX", "NATK_PREFIXES_MAX", "NATK_MAP_A_MAX",
            "NATK_STAT_MAX", "NATK_TIMEOUT_MAX", "NATK_GENL_VERSION",
            "NATK_RANGE_A_MAX", "NATK_POOL_A_MAX", "NATK_ADDRS_MAX",
            "NATK_ADDR_RANGES_MAX", "NATK_ADDRS_MODE_MAX",
            "NATK_PORT_BLOCK_MIN", "NATK_PORT_BLOCK_MAX",
            "NATK_PORT_BLOCKS_MAX", "NATK_FLOW_A_SEEN",
            "NATK_FLOW_F_SEEN_OUT", "NATK_FLOW_F_SEEN_IN"):
        checks.append((sym, getattr(nl, sym)))
for sym, val in checks:
    print('_Static_assert(%s == %d, "natknl.py: %s = %d");' % (sym, val, sym, val))
# Every attribute of the header has a name and a natural size here.
for name in enumerators("NATK_A_"):
    if name in ("UNSPEC", "MAX") or name.startswith("_"):
        continue
    if name not in nl.A:
        print('#error "natknl.py lacks NATK_A_%s"' % name)
    elif nl.A[name] not in nl.A_SIZE:
        print('#error "natknl.py: no A_SIZE for NATK_A_%s"' % name)
# And every attribute of the nests it builds.
for prefix, table, sizes in (("NATK_FWD_A_", nl.FWD_A, nl.FWD_SIZE),
                             ("NATK_PREFIX_A_", nl.PREFIX_A, None),
                             ("NATK_MAP_A_", nl.MAP_A, None),
                             ("NATK_RANGE_A_", nl.RANGE_A, None),
                             ("NATK_POOL_A_", nl.POOL_A, None)):
    for name in enumerators(prefix):
        if name in ("UNSPEC", "MAX") or name.startswith("_"):
            continue
        if name not in table:
            print('#error "natknl.py lacks %s%s"' % (prefix, name))
        elif sizes is not None and table[name] not in sizes:
            print('#error "natknl.py: no FWD_SIZE for %s%s"' % (prefix, name))
print("int main(void) { return 0; }")
EOF
then
	echo "FAIL uapi-sync-fuzzer: could not read tests/fuzz/natknl.py: $(tail -n 1 "$TMP/gen.err")"
	exit 0
fi
if gcc -fsyntax-only -I"$REPO/include/uapi" "$TMP/sync.c" 2> "$TMP/cc.err"; then
	echo "PASS uapi-sync-fuzzer"
else
	echo "FAIL uapi-sync-fuzzer: tests/fuzz/natknl.py differs from include/uapi/linux/natk.h:" \
		"$(grep -oE '"natknl.py[^"]*"' "$TMP/cc.err" | tr -d '"' | sort -u | paste -sd ';' -)"
fi
