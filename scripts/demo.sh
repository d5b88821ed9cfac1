#!/usr/bin/env bash
# `npm run demo`: the whole system on http://localhost:3000 with demo data. Runs inside
# scripts/with-services.sh (Redis + FerretDB). Telegram is a fake Bot API on loopback; type in
# this terminal to chat with the bot as a citizen.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/bin/hailong.js ] || npm run build
PORT=${PORT:-3000}
export PORT PUBLIC_URL=${PUBLIC_URL:-http://localhost:$PORT} LOG_LEVEL=${LOG_LEVEL:-warn}
export PHONE_HASH_KEY=${PHONE_HASH_KEY:-demo-phone-hash-key}
export TELEGRAM_BOT_TOKEN=123456:DEMO-token-abcdefghijklmnopqrstuv TELEGRAM_BOT_USERNAME=hailong_demo_bot
export TELEGRAM_MODE=webhook TELEGRAM_WEBHOOK_SECRET=demo_secret DEMO_TELEGRAM_TOKEN=$TELEGRAM_BOT_TOKEN

echo "== seeding units, procedures, the default flow and demo responses"
node dist/bin/hailong.js seed --demo

FIFO=$(mktemp -u); mkfifo "$FIFO"
# node itself (not npx/tsx wrappers), so that FAKE_PID is the process the trap stops.
node --import tsx scripts/demo-fake-telegram.ts <&0 >"$FIFO" &
FAKE_PID=$!
read -r TELEGRAM_API_ROOT <"$FIFO"
export TELEGRAM_API_ROOT
rm -f "$FIFO"

node dist/bin/hailong.js start &
APP_PID=$!
trap 'kill $APP_PID $FAKE_PID 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

KEY=$(node dist/bin/hailong.js apikey create --name demo | tail -1)
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SURVEY=$(curl -fs -X POST "http://127.0.0.1:$PORT/api/v1/dossiers" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d "{\"code\":\"000.00.19.H57-$(date +%y%m%d)-0001\",\"procedureCode\":\"1.001612\",\"procedureName\":\"Chứng thực bản sao từ bản chính\",\"unitCode\":\"19870\",\"channel\":\"in_person\",\"onlineLevel\":null,\"receivedAt\":\"$NOW\",\"dueAt\":\"$NOW\",\"finishedAt\":\"$NOW\",\"returnedAt\":\"$NOW\",\"status\":\"finished\",\"officerId\":\"cb-01\",\"applicant\":{\"phone\":\"0912345678\"}}")
TOKEN=$(node -e 'const s=JSON.parse(process.argv[1]).survey;console.log(s.token)' "$SURVEY")
cat <<MSG

Hài Lòng is running on $PUBLIC_URL (health: $PUBLIC_URL/healthz)
  web chat survey of a demo dossier: $PUBLIC_URL/s/$TOKEN
  its QR code for the receipt:       $PUBLIC_URL/s/$TOKEN/qr.png
  report of a commune (JSON):        npx hailong report --unit 19870 --period $(date +%Y) --format json
Chat as a Telegram citizen here: type "/start $TOKEN", then "tap Đồng ý", "tap 5.", or any text.
Ctrl-C stops everything.
MSG
wait $APP_PID
