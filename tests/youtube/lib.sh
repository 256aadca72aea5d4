# Helpers for the YouTube CLI tests: the local API stand-in and test-time
# credentials. Source after tests/lib.sh and BEFORE tests/broker.sh's
# broker_start (broker_start chains the EXIT trap set here).
#
#   yt_keys                         # SA_PEM, SA_PUB, OTHER_PEM, SA_JSON, BAD_SA_JSON, REVOKED_SA_JSON
#   standin_start [standin.py options]   # sets STANDIN_PID, STANDIN_PORT, API_BASE
#   standin_stats                   # prints the stand-in's /_stats JSON
#   standin_stop

API_KEY="AIzaSyTest-$RANDOM$RANDOM-streamflow_only"
STANDIN_PID="" STANDIN_PORT="" API_BASE=""

# Key pairs made at test time (never committed): the service account's, and
# another one whose signatures the stand-in must refuse.
yt_keys() {
  SA_PEM="$SF_TMP/sa.pem" SA_PUB="$SF_TMP/sa.pub" OTHER_PEM="$SF_TMP/other.pem"
  openssl genrsa -out "$SA_PEM" 2048 2>/dev/null &&
    openssl rsa -in "$SA_PEM" -pubout -out "$SA_PUB" 2>/dev/null &&
    openssl genrsa -out "$OTHER_PEM" 2048 2>/dev/null || return 1
  # A line from the middle of the private key: it must never be printed.
  SA_PEM_LINE=$(sed -n 5p "$SA_PEM")
}

# sa_json OUT PEM EMAIL: a service-account key file pointing at the stand-in.
sa_json() {
  python3 - "$1" "$2" "$3" "http://127.0.0.1:$STANDIN_PORT/token" <<'PY'
import json, sys
out, pem, email, uri = sys.argv[1:]
json.dump({"type": "service_account", "project_id": "standin", "private_key_id": "k1",
           "private_key": open(pem).read(), "client_email": email, "client_id": "1",
           "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": uri},
          open(out, "w"), indent=2)
PY
}

standin_start() {
  local pf="$SF_TMP/standin.port.$RANDOM"
  # Debian's python3, where scripts/install-deps puts python3-cryptography
  # (a python3 earlier on PATH may lack it).
  local py=python3
  [ -x /usr/bin/python3 ] && py=/usr/bin/python3
  "$py" "$SF_ROOT/tests/youtube/standin.py" --port-file "$pf" --key "$API_KEY" --lifetime 300 "$@" \
    </dev/null >"$SF_TMP/standin.log" 2>&1 &
  STANDIN_PID=$!
  local i
  for i in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  STANDIN_PORT=$(cat "$pf" 2>/dev/null)
  if [ -z "$STANDIN_PORT" ]; then
    echo "not ok - the YouTube API stand-in did not start"
    sed 's/^/#   /' "$SF_TMP/standin.log" | head -n 20
    _sf_count=$((_sf_count + 1)); _sf_failed=$((_sf_failed + 1))
    return 1
  fi
  API_BASE="http://127.0.0.1:$STANDIN_PORT/youtube/v3"
  if [ -z "${_standin_trap_set:-}" ]; then
    _standin_trap_set=1
    trap 'standin_stop' EXIT
  fi
}

standin_stop() {
  [ -n "$STANDIN_PID" ] || return 0
  kill "$STANDIN_PID" 2>/dev/null
  wait "$STANDIN_PID" 2>/dev/null
  STANDIN_PID=""
}

standin_stats() {
  curl -s "http://127.0.0.1:$STANDIN_PORT/_stats"
}

# json_get JSON PATH...: prints one value of a JSON document (python).
json_get() {
  python3 -c 'import json,sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]: v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)' "$@"
}

# Every output of the test is kept here, to check no secret ever appears.
YT_ALL="$SF_TMP/all-output"
: >"$YT_ALL"
keep() { printf '%s\n%s\n' "$out" "$err" >>"$YT_ALL"; }
