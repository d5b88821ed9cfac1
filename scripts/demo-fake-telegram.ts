/**
 * Demo only: a fake Telegram Bot API on loopback (Telegram cannot be reached from here), so
 * `npm run demo` runs the real bot end to end. Prints the API root on stdout's first line and
 * logs every message the bot sends. Type into the terminal to chat as citizen 9001:
 * a line is sent as a message, "tap <text>" presses the button whose label contains <text>.
 */
import readline from 'node:readline';
import { FakeTelegram } from '../test/fakes/telegram-server';

async function main(): Promise<void> {
  const fake = await FakeTelegram.start({
    token: process.env.DEMO_TELEGRAM_TOKEN ?? '123456:DEMO-token-abcdefghijklmnopqrstuv',
  });
  console.log(fake.apiRoot);
  let shown = 0;
  setInterval(() => {
    const sent = fake.sentTo(9001);
    for (; shown < sent.length; shown++) {
      const m = sent[shown];
      const buttons =
        m.replyMarkup?.inline_keyboard
          .flat()
          .map((b) => `[${b.text}]`)
          .join(' ') ?? '';
      process.stderr.write(`\n🤖 ${m.text}${buttons ? `\n   ${buttons}` : ''}\n> `);
    }
  }, 100).unref();
  const citizen = fake.user(9001);
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const text = line.trim();
    if (!text) return;
    const tap = /^tap\s+(.+)$/i.exec(text);
    void (
      tap
        ? citizen.tapLabel(tap[1])
        : text.startsWith('/')
          ? citizen.command(text.split(' ')[0], text.split(' ')[1])
          : citizen.send(text)
    ).catch((err: Error) => process.stderr.write(`(${err.message})\n`));
  });
  const stop = () => void fake.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
