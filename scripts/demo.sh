#!/usr/bin/env bash
# The seed scenario, end to end, with real `az` commands against a local emulator.
# Everything lives under .demo/ (or $DEMO_DIR: az config, emulator certificates), so a second run starts clean
# and the user's own ~/.azure is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${VENV:-.venv}/bin
DEMO=${DEMO_DIR:-$ROOT/.demo}

rm -rf "$DEMO/azure" "$DEMO/emulator.out"
mkdir -p "$DEMO/azure" "$DEMO/emulator-home"
# The checkout as the extension `communication` (named so wherever the checkout lives; see dev_source.py).
DEV_SOURCE=$("$BIN/python" scripts/dev_source.py "$ROOT/${VENV:-.venv}/az-extensions")
EXT_DIR=$ROOT/${VENV:-.venv}/az-cliextensions
mkdir -p "$EXT_DIR"
export PATH="$ROOT/$BIN:$PATH"
export AZURE_CONFIG_DIR=$DEMO/azure
export AZURE_EXTENSION_DEV_SOURCES=$DEV_SOURCE
export AZURE_EXTENSION_DIR=$EXT_DIR
export AZURE_CORE_COLLECT_TELEMETRY=no
export AZURE_CORE_ONLY_SHOW_ERRORS=true
export AZURE_CORE_DISABLE_CONFIRM_PROMPT=true
export AZURE_COMMUNICATION_EMULATOR_HOME=$DEMO/emulator-home
unset AZURE_COMMUNICATION_ENDPOINT AZURE_COMMUNICATION_ACCESS_TOKEN AZURE_COMMUNICATION_CONNECTION_STRING

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# Show a command as you would type it (variables such as $THREAD as they are, quotes as written), run it in this
# shell (so that VAR=$(...) lines set VAR), and show its output; any failure ends the demo with a non-zero exit.
run() {
  printf '\n$ %s\n' "$1"
  eval "$1"
}
# The same for VAR=$(...): run it, then show the value it captured.
capture() {
  run "$1"
  echo "${!2}"
}

EMU_PID=""
BOT_PID=""
stop_emulator() {
  for pid in "$BOT_PID" "$EMU_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap stop_emulator EXIT
# Wait (up to 30 s) for process $1 to print its ready line(s) to $2.out (the last one matching $4, if given);
# its errors are in $2.err.
wait_ready() {
  for _ in $(seq 1 150); do
    if [ -n "${4:-}" ]; then grep -q "$4" "$2.out" 2>/dev/null && return 0; else [ -s "$2.out" ] && return 0; fi
    kill -0 "$1" 2>/dev/null || { cat "$2.err" >&2; echo "$3 failed to start" >&2; exit 1; }
    sleep 0.2
  done
  echo "$3 did not report ready" >&2
  exit 1
}

bold "Starting the local emulator (az communication emulator start --port 0)"
az communication emulator start --port 0 >"$DEMO/emulator.out" 2>"$DEMO/emulator.err" &
EMU_PID=$!
wait_ready "$EMU_PID" "$DEMO/emulator" "the emulator" "Press Ctrl+C to stop"
# Its access key and its web page's key are shown as <redacted> here (the emulator prints them whole, for pasting).
hide_key() { sed -e "s/accesskey=[^;'\"]*/accesskey=<redacted>/" -e "s/#key=[A-Za-z0-9_-]*/#key=<redacted>/"; }
echo "The emulator printed:"
sed 's/^/  | /' "$DEMO/emulator.out" | hide_key
printf '\nPasting its export lines (the token comes in step 1):\n'
grep '^  export ' "$DEMO/emulator.out" | grep -v ACCESS_TOKEN | sed 's/^  //' >"$DEMO/exports.sh"
# shellcheck disable=SC1091
. "$DEMO/exports.sh"
hide_key <"$DEMO/exports.sh"

bold "1. Identity: a user and a chat token"
printf '\n$ %s\n' "az communication identity token issue --scope chat"
ISSUED=$(az communication identity token issue --scope chat)
python3 -c "import json,sys; d=json.load(sys.stdin); d['token']='<redacted>'; print(json.dumps(d, indent=2))" <<<"$ISSUED"
USER1=$(python3 -c "import json,sys; print(json.load(sys.stdin)['user_id'])" <<<"$ISSUED")
AZURE_COMMUNICATION_ACCESS_TOKEN=$(python3 -c "import json,sys; print(json.load(sys.stdin)['token'])" <<<"$ISSUED")
export AZURE_COMMUNICATION_ACCESS_TOKEN
echo '$ export AZURE_COMMUNICATION_ACCESS_TOKEN=<the token above>'

bold "2. Threads"
START=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
capture 'THREAD=$(az communication chat thread create --topic "Release planning" -o tsv)' THREAD
run 'az communication chat thread show -t "$THREAD"'
run 'az communication chat thread update-topic -t "$THREAD" --topic "Release planning (v1.0)"'
run 'az communication chat thread list --start-time "$START" -o table'

bold "3. Messages"
run 'az communication chat message send -t "$THREAD" --content "Hello from the az CLI"'
capture 'MESSAGE=$(az communication chat message send -t "$THREAD" --content "<b>Ship it</b>" --message-type html --display-name "Release bot" --query id -o tsv)' MESSAGE
run 'az communication chat message list -t "$THREAD" -o table'
run 'az communication chat message get -t "$THREAD" --message-id "$MESSAGE"'

bold "4. Read receipts"
run 'az communication chat message receipt send -t "$THREAD" --message-id "$MESSAGE"'
run 'az communication chat message receipt list -t "$THREAD" -o table'

bold "5. Participants"
capture 'USER2=$(az communication identity user create --query rawId -o tsv)' USER2
run 'az communication chat participant add -t "$THREAD" --user "$USER2" --display-name "Second user" --start-time "$START"'
run 'az communication chat participant list -t "$THREAD" -o table'
run 'az communication chat participant remove -t "$THREAD" --user "$USER2" --yes'
run 'az communication chat participant list -t "$THREAD" --query "[].identifier.rawId"'

bold "6. Editing and deleting"
run 'az communication chat message update -t "$THREAD" --message-id "$MESSAGE" --content "<b>Shipped</b>"'
run 'az communication chat message delete -t "$THREAD" --message-id "$MESSAGE" --yes'
run 'az communication chat message get -t "$THREAD" --message-id "$MESSAGE" --query "{id: id, deletedOn: deletedOn}"'
run 'az communication chat thread show -t "$THREAD"'
run 'az communication chat thread delete -t "$THREAD" --yes'

bold "7. A bot driven by chat events: examples/echo_bot.py answers ping with pong"
capture 'BOT_ID=$(az communication identity user create --query rawId -o tsv)' BOT_ID
printf '\n$ %s\n' 'export ECHO_BOT_ACCESS_TOKEN=$(az communication identity token issue --scope chat --user "$BOT_ID" --query token -o tsv)'
ECHO_BOT_ACCESS_TOKEN=$(az communication identity token issue --scope chat --user "$BOT_ID" --query token -o tsv)
export ECHO_BOT_ACCESS_TOKEN
printf '\n$ %s\n' "python examples/echo_bot.py --port 0 --json &"
"$BIN/python" examples/echo_bot.py --port 0 --json >"$DEMO/bot.out" 2>"$DEMO/bot.err" &
BOT_PID=$!
unset ECHO_BOT_ACCESS_TOKEN
wait_ready "$BOT_PID" "$DEMO/bot" "the bot"
BOT_URL=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['url'])" "$DEMO/bot.out")
echo "echo bot listening on $BOT_URL"
run 'az communication emulator subscription create --name echo-bot --endpoint "$BOT_URL" --query "{name: name, endpoint: endpointBaseUrl, validation: endpointValidation}"'
capture 'THREAD=$(az communication chat thread create --topic "Bot test" --user "$BOT_ID" --query chatThread.id -o tsv)' THREAD
capture 'PING=$(az communication chat message send -t "$THREAD" --content ping --query id -o tsv)' PING
run 'az communication chat message wait -t "$THREAD" --after "$PING" --custom "contains(content.message, '\''pong'\'')" --timeout 60 --query "{from: senderDisplayName, content: content.message, replyTo: metadata.replyTo}"'
run 'az communication emulator subscription show --name echo-bot --query "{name: name, delivered: delivered, failed: failed, pending: pending, deadLettered: deadLettered}"' 

bold "Done: every step succeeded (user $USER1)."
cat <<EOF

Now try it by hand. Either run 'make shell', or paste these two lines into your shell:
  export PATH="$ROOT/$BIN:\$PATH" AZURE_EXTENSION_DIR="$EXT_DIR"
  export AZURE_EXTENSION_DEV_SOURCES="$DEV_SOURCE"
then start an emulator (it prints the export lines to paste next) and issue a token:
  az communication emulator start
  az communication identity token issue --scope chat
EOF
