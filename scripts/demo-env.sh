#!/usr/bin/env bash
# The settings a `hailong` in a second terminal needs to reach a running demo (scripts/demo.sh):
#   demo-env.sh write DIR    writes them to DIR/.env (read by `hailong`, cli/env-file.ts), or to
#                            DIR/.env.demo when DIR/.env is a file of your own; prints the path
#   demo-env.sh remove DIR   removes the file again, if the demo wrote it
# Values come from this process's environment (with-services.sh and demo.sh set them).
set -euo pipefail
MARK='# Written by `npm run demo` for a second terminal; removed when the demo stops.'
KEYS=(MONGODB_URI REDIS_URL REDIS_PREFIX PORT PUBLIC_URL LOG_LEVEL PHONE_HASH_KEY TELEGRAM_BOT_TOKEN TELEGRAM_API_ROOT TELEGRAM_MODE TELEGRAM_WEBHOOK_SECRET)
ours() { [ -f "$1" ] && [ "$(head -n 1 "$1")" = "$MARK" ]; }

case ${1:-} in
  write)
    file=$2/.env
    if [ -f "$file" ] && ! ours "$file"; then file=$2/.env.demo; fi
    {
      echo "$MARK"
      for k in "${KEYS[@]}"; do
        v=${!k:-}
        [ -n "$v" ] || continue
        case $v in *'"'* | *$'\n'*) echo "demo-env.sh: $k holds a quote or a newline" >&2; exit 1 ;; esac
        printf '%s="%s"\n' "$k" "$v"
      done
    } >"$file.tmp"
    mv "$file.tmp" "$file"
    echo "$file"
    ;;
  remove)
    for f in "$2/.env" "$2/.env.demo"; do if ours "$f"; then rm -f "$f"; fi; done
    ;;
  *)
    echo "usage: demo-env.sh write|remove DIR" >&2
    exit 2
    ;;
esac
