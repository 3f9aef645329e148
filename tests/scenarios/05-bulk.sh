#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 16 MB each way over one TCP connection initiated from lan1 (upload and
# download at the same time); sha256 must match on both ends.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" bulk-upload-sha256 bulk-download-sha256
require_natk bulk-upload-sha256
topo_setup || { fail bulk-upload-sha256 "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1

D=$(mktemp -d)
head -c 16M /dev/urandom > "$D/up.bin"
head -c 16M /dev/urandom > "$D/down.bin"
up_sum=$(sha256sum < "$D/up.bin" | cut -d' ' -f1)
down_sum=$(sha256sum < "$D/down.bin" | cut -d' ' -f1)

# xfer.py server|client ADDR PORT SEND_FILE: send SEND_FILE while hashing
# everything received until EOF; print the received length and sha256.
cat > "$D/xfer.py" <<'PY'
import hashlib, socket, sys, threading
mode, addr, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if mode == "server":
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port)); ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept()
else:
    s = socket.create_connection((addr, port), timeout=60)
s.settimeout(120)
def send():
    with open(path, "rb") as f:
        while True:
            b = f.read(65536)
            if not b:
                break
            s.sendall(b)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
h = hashlib.sha256(); n = 0
while True:
    b = s.recv(262144)
    if not b:
        break
    h.update(b); n += len(b)
t.join()
print(n, h.hexdigest(), flush=True)
PY

nsx wan python3 "$D/xfer.py" server $WAN1 6000 "$D/down.bin" > "$D/server.out" 2>&1 &
srv=$!
wait_listen wan tcp 6000
t0=$(date +%s)
nsx lan1 timeout 240 python3 "$D/xfer.py" client $WAN1 6000 "$D/up.bin" > "$D/client.out" 2>&1
rc=$?
t1=$(date +%s)
wait $srv
log "client rc=$rc in $((t1 - t0))s; client: $(tail -n1 "$D/client.out"); server: $(tail -n1 "$D/server.out")"
expect_eq bulk-upload-sha256 "16777216 $up_sum" "$(tail -n1 "$D/server.out")" "what wan received"
expect_eq bulk-download-sha256 "16777216 $down_sum" "$(tail -n1 "$D/client.out")" "what lan1 received"
rm -rf "$D"
