#!/usr/bin/env bash
# Real-terminal smoke test of the chat app: runs it in tmux, types a message, rates the reply
# (thumbs up), regenerates, browses back to the first alternative and picks it, quits; then
# checks that the database holds exactly those events.
#
#   scripts/tui-smoke.sh        # a fresh COMPANION_HOME; `companion chat` starts the server
#   COMPANION_MODEL__BASE=/path/to/checkpoint scripts/tui-smoke.sh   # skip the GGUF conversion
#   COMPANION_SERVER__URL=http://host:8000/v1 scripts/tui-smoke.sh   # use a running server
#   SMOKE_CMD="..." scripts/tui-smoke.sh   # drive another command line
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}

if ! command -v tmux >/dev/null 2>&1; then
  echo "tui-smoke: installing tmux" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq tmux >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq tmux >/dev/null; fi
fi

WORK=$(mktemp -d -t companion-smoke.XXXXXX)
export COMPANION_HOME=${SMOKE_HOME:-$WORK/home}
export COMPANION_CHAT__MAX_TOKENS=${COMPANION_CHAT__MAX_TOKENS:-40}
export COMPANION_CHAT__BREAK_REMINDER_MINUTES=0
SESSION=companion-smoke-$$

cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  # `companion chat` leaves the server it started running (as it should); stop ours.
  if [ -z "${COMPANION_SERVER__URL:-}" ]; then
    "$PY" -m companion.cli serve stop >/dev/null 2>&1 || true
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# The real entry point; the app sets up the model and starts the server itself.
CMD=${SMOKE_CMD:-"$ROOT/.venv/bin/companion chat"}
# A running tmux server would not pass our environment on: hand it over in a file.
export -p | grep ' COMPANION_' >"$WORK/env"
tmux new-session -d -s "$SESSION" -x 120 -y 40 \
  ". '$WORK/env'; cd '$ROOT' && $CMD; echo SMOKE-EXITED; sleep 30"

screen() { tmux capture-pane -p -t "$SESSION"; }
keys() { tmux send-keys -t "$SESSION" "$@"; }
wait_for() {  # wait_for PATTERN [SECONDS]
  local deadline=$((SECONDS + ${2:-120}))
  until screen | grep -qE -- "$1"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "tui-smoke: timed out waiting for /$1/; screen was:" >&2
      screen >&2
      exit 1
    fi
    sleep 0.3
  done
}
wait_gone() {
  local deadline=$((SECONDS + ${2:-120}))
  while screen | grep -qE -- "$1"; do
    [ $SECONDS -lt $deadline ] || { echo "tui-smoke: /$1/ did not go away" >&2; screen >&2; exit 1; }
    sleep 0.3
  done
}

# First run on a fresh home: `companion chat` converts the model and trains the persona
# adapter in the terminal (about 4-5 minutes), then the AI disclosure and the 18+ confirmation.
wait_for "is an AI" 900
wait_for "I am 18 or older"
keys Space; sleep 0.3; keys Tab; sleep 0.2; keys Enter
wait_gone "I am 18 or older" 20
wait_for "● ready" 400                               # model setup + server start

keys -l "Hello! What is a nice thing to do on a Sunday?"; keys Enter
wait_for "typing" 30
wait_gone "typing" 180
wait_for "TTFT"
keys C-Up; sleep 0.5; keys -l "+"; sleep 1            # thumbs up on the reply
keys -l "r"                                           # regenerate it
wait_for "‹ 2/2" 180
wait_gone "typing" 180
keys Left; sleep 0.8                                  # back to the first alternative
wait_for "‹ 1/2"
keys Enter; sleep 0.8                                 # pick it
wait_for "1/2 ✓" 20
keys C-q
wait_for "SMOKE-EXITED" 30
# A clean exit: between the app's last frame and our marker, nothing but the goodbye line
# (no library noise such as nanobind's "leaked ..." report).
after_quit=$(tmux capture-pane -p -S - -t "$SESSION" | sed -n '/^SMOKE-EXITED$/q;p' | tail -n 15)
if printf '%s\n' "$after_quit" | grep -qiE 'leaked|Traceback|Warning'; then
  echo "tui-smoke: the terminal after quitting shows library output:" >&2
  printf '%s\n' "$after_quit" >&2
  exit 1
fi

# Exactly these events in the database.
"$PY" - <<'PYEOF'
from companion.config import load
from feedback.repo import open_store

config = load().config
store = open_store(config.database_url)
(conv,) = store.list_conversations()
msgs = store.messages(conv.id)
assert [(m.role, m.status) for m in msgs] == [("user", "complete"), ("assistant", "complete")], msgs
user, reply = msgs
assert user.text == "Hello! What is a nice thing to do on a Sunday?", user.text
cands = store.candidates(reply.id)
assert len(cands) == 2, cands
first, second = cands
history = [(e.candidate_id, e.value) for e in store.rating_history(first.id)]
assert history == [(first.id, 1)], history
assert store.rating_history(second.id) == []
assert [c.candidate_id for c in store.choices(reply.id)] == [first.id]
assert reply.chosen_candidate_id == first.id and reply.text == first.text
assert store.feedback_count_since(None) == 2  # one rating, one choice
# Quitting ended the conversation: its pair (the pick over the other one) was built.
pairs = list(store.iter_pairs())
assert [(p.source, p.chosen_candidate_id) for p in pairs] == [("picked", first.id)], pairs
active = store.active_adapter()
if config.model.persona_adapter and not config.model.base:
    # A fresh home: the replies came from the persona adapter that first run trained.
    assert active is not None and active.kind == "starter-sft", active
    assert {c.adapter_version for c in cands} == {active.version}, cands
print(
    f"tui-smoke: OK (conversation {conv.id}: 2 messages, 2 candidates, 1 rating, 1 choice, "
    f"1 pair; adapter {active.version if active else 'none'})"
)
PYEOF
