#!/usr/bin/env bash
# `npm run demo`: the whole system on http://localhost:3000 with demo data. Runs inside
# scripts/with-services.sh (Redis + FerretDB, on 127.0.0.1:27017 when that port is free).
# Telegram is a fake Bot API on loopback; type in this terminal to chat with the bot as a
# citizen. The settings a second terminal needs are written to ./.env (read by `hailong`), or
# to ./.env.demo when a .env of your own is there; the file is removed when the demo stops.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/bin/hailong.js ] || npm run build
PORT=${PORT:-3000}
export PORT PUBLIC_URL=${PUBLIC_URL:-http://localhost:$PORT} LOG_LEVEL=${LOG_LEVEL:-warn}
export PHONE_HASH_KEY=${PHONE_HASH_KEY:-demo-phone-hash-key}
# A prefix of its own: another Hài Lòng on the same Redis ({hl}) cannot take the demo's jobs.
export REDIS_PREFIX='{hl-demo}'
export TELEGRAM_BOT_TOKEN=123456:DEMO-token-abcdefghijklmnopqrstuv
export TELEGRAM_MODE=webhook TELEGRAM_WEBHOOK_SECRET=demo_secret DEMO_TELEGRAM_TOKEN=$TELEGRAM_BOT_TOKEN
# No TELEGRAM_BOT_USERNAME: the bot learns it from the (fake) Bot API's getMe at start.

APP_PID="" FAKE_PID=""
cleanup() {
  if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null || true; fi
  if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  bash scripts/demo-env.sh remove "$PWD"
}
trap cleanup EXIT INT TERM

echo "== seeding units, procedures, the default flow and demo responses (and their rollups)"
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
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

# Everything `hailong` in another terminal needs to reach this demo's data and queues.
ENV_FILE=$(bash scripts/demo-env.sh write "$PWD")

KEY=$(node dist/bin/hailong.js apikey create --name demo | tail -1)
# An admin for the console, with a password of this run (printed below, never stored in a file).
ADMIN_PASSWORD=$(node -e 'console.log(require("node:crypto").randomBytes(12).toString("base64url"))')
echo "$ADMIN_PASSWORD" | node dist/bin/hailong.js user create --username quantri.demo --password - --role admin >/dev/null
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SURVEY=$(curl -fs -X POST "http://127.0.0.1:$PORT/api/v1/dossiers" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
  -d "{\"code\":\"000.00.19.H57-$(date +%y%m%d)-0001\",\"procedureCode\":\"1.001612\",\"procedureName\":\"Chứng thực bản sao từ bản chính\",\"unitCode\":\"QD-DAN-DIEN\",\"channel\":\"in_person\",\"onlineLevel\":null,\"receivedAt\":\"$NOW\",\"dueAt\":\"$NOW\",\"finishedAt\":\"$NOW\",\"returnedAt\":\"$NOW\",\"status\":\"finished\",\"officerId\":\"cb-01\",\"applicant\":{\"phone\":\"0912345678\"}}")
TOKEN=$(node -e 'const s=JSON.parse(process.argv[1]).survey;console.log(s.token)' "$SURVEY")
YEAR=$(TZ=Asia/Ho_Chi_Minh date +%Y)
if [ "$ENV_FILE" = "$PWD/.env" ]; then LOAD=""; else LOAD="set -a; . ./.env.demo; set +a    # your own .env is left alone
  "; fi
cat <<MSG

Hài Lòng is running on $PUBLIC_URL (health: $PUBLIC_URL/healthz)
  web chat survey of a demo dossier: $PUBLIC_URL/s/$TOKEN
  its QR code for the receipt:       $PUBLIC_URL/s/$TOKEN/qr.png
  the console (trang quản trị):      $PUBLIC_URL/admin   user quantri.demo, password $ADMIN_PASSWORD
  public results:                    $PUBLIC_URL/ket-qua

In a second terminal, while this demo runs (its settings are in $ENV_FILE):
  cd $PWD
  ${LOAD}npx hailong report --unit QD-DAN-DIEN --period $YEAR --format json    # Xã Đan Điền
  npx hailong export responses --format csv > phan-hoi.csv

Chat as a Telegram citizen here: type "/start $TOKEN", then "tap Đồng ý", "tap 5.", or any text.
Ctrl-C stops everything.
MSG
wait $APP_PID
