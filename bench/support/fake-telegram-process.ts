import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { FakeTelegram } from '../../test/fakes/telegram-server';

/**
 * The fake Telegram Bot API in a process of its own, for benchmarks (bench/broadcast.ts's default;
 * BENCH_FAKE=inline keeps it in the bench's process). In the
 * bench's own process its request handling waits behind the workers' event loop, so calls grow
 * slow at high rates and the rate limiter's slots (held for the call + 1 s + margin) become what
 * bounds the rate; Telegram is another host. Only what the benchmark reads crosses over: each
 * call's method and arrival time on the fake's clock (Date.now, shared by both processes).
 */
export interface CallTime {
  method: string;
  at: number;
}

interface Reply {
  id: number;
  total: number;
  rows: CallTime[];
}

if (process.env.HL_FAKE_TELEGRAM_CHILD === '1') {
  void (async () => {
    const fake = await FakeTelegram.start();
    process.on('message', (m: { id: number; from: number }) => {
      const rows = fake.calls.slice(m.from).map((c) => ({ method: c.method, at: c.at }));
      process.send!({ id: m.id, total: fake.calls.length, rows } satisfies Reply);
    });
    process.once('SIGTERM', () => void fake.close().then(() => process.exit(0)));
    // The bench died without stopping us (a crash): do not outlive it holding its output pipe.
    process.once('disconnect', () => void fake.close().then(() => process.exit(0)));
    process.send!({ ready: true, apiRoot: fake.apiRoot, token: fake.token });
  })();
}

export class FakeTelegramProcess {
  private seq = 0;
  private readonly pending = new Map<number, (r: Reply) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly apiRoot: string,
    readonly token: string,
  ) {
    child.on('message', (m: Reply) => {
      this.pending.get(m.id)?.(m);
      this.pending.delete(m.id);
    });
  }

  static async start(): Promise<FakeTelegramProcess> {
    const child = fork(__filename, [], { env: { ...process.env, HL_FAKE_TELEGRAM_CHILD: '1' } });
    const [ready] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) =>
        Promise.reject(new Error(`fake Telegram process exited (${String(code)})`)),
      ),
    ])) as [{ apiRoot: string; token: string }];
    return new FakeTelegramProcess(child, ready.apiRoot, ready.token);
  }

  /** How many calls the fake has received, and those from index `from` on. */
  private calls(from: number): Promise<Reply> {
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, from });
    });
  }

  async count(): Promise<number> {
    return (await this.calls(Number.MAX_SAFE_INTEGER)).total;
  }

  /** The calls from index `from` on: method and arrival time. */
  async callsFrom(from: number): Promise<CallTime[]> {
    return (await this.calls(from)).rows;
  }

  async close(): Promise<void> {
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}
