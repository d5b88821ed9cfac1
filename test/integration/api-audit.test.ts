import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerAuditCommands } from '../../cli/commands/audit';
import { auditEntryHash } from '../../lib/audit/chain';
import { verifyAuditChain } from '../../lib/audit/verify';
import { appendAudit } from '../../lib/audit/writer';
import { AuditLog } from '../../models/audit-log';
import { connectTestDb, dropTestDb, mongoUri } from '../support/services';

let dbName: string;
beforeAll(async () => {
  dbName = await connectTestDb('apiaudit');
});
afterAll(async () => {
  await dropTestDb();
});
// Each test starts a chain of its own; the raw driver bypasses the model's append-only guard.
beforeEach(async () => {
  await AuditLog.collection.deleteMany({});
});

async function chainOf(n: number): Promise<void> {
  for (let i = 1; i <= n; i++)
    await appendAudit({
      actor: 'admin.le',
      action: 'user.created',
      targetType: 'user',
      targetId: `u${i}`,
      unitCode: '19870',
      ip: '10.0.0.1',
      details: { role: 'viewer', units: ['19870'] },
    });
}

async function cliVerify(): Promise<{ out: string; exitCode: number | undefined }> {
  const lines: string[] = [];
  const log = jest
    .spyOn(console, 'log')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = jest
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  process.exitCode = undefined;
  try {
    const program = new Command().exitOverride();
    registerAuditCommands(program);
    await program.parseAsync(['audit', 'verify'], { from: 'user' });
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
  const exitCode = typeof process.exitCode === 'number' ? process.exitCode : undefined;
  process.exitCode = undefined;
  return { out: lines.join('\n'), exitCode };
}

test('entries are chained in order: each carries the previous hash and a hash of its own fields', async () => {
  await chainOf(3);
  const entries = await AuditLog.find({}).sort({ seq: 1 }).lean();
  expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
  expect(entries[0]!.prevHash).toBe('0'.repeat(64));
  expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
  expect(entries[2]!.prevHash).toBe(entries[1]!.hash);
  for (const e of entries) expect(auditEntryHash(e)).toBe(e.hash);
  expect(await verifyAuditChain()).toEqual({
    ok: true,
    checked: 3,
    head: { seq: 3, hash: entries[2]!.hash },
    firstBreak: null,
  });
  const cli = await cliVerify();
  expect(cli.exitCode).toBeUndefined();
  expect(cli.out).toBe(
    `OK: 3 mục khớp chuỗi / entries verified; mới nhất / head: seq 3, hash ${entries[2]!.hash}`,
  );
});

test('`audit verify` names the first edited entry and exits non-zero', async () => {
  await chainOf(5);
  const third = await AuditLog.findOne({ seq: 3 }).lean();
  await AuditLog.collection.updateOne({ seq: 3 }, { $set: { targetId: 'someone-else' } });
  const r = await verifyAuditChain();
  expect(r).toMatchObject({
    ok: false,
    checked: 2,
    firstBreak: { problem: 'hash_mismatch', seq: 3, id: String(third!._id), expectedSeq: 3 },
  });
  const cli = await cliVerify();
  expect(cli.exitCode).toBe(1);
  expect(cli.out).toContain(`seq 3 (id ${String(third!._id)}, expected seq 3)`);
  expect(cli.out).toContain('nội dung đã bị sửa');
});

test('an edit whose hash was recomputed breaks the next link; a removed entry leaves a gap; an entry written around the model is outside the chain', async () => {
  await chainOf(5);
  const e2 = await AuditLog.findOne({ seq: 2 }).lean();
  const forged = { ...e2!, actor: 'nobody' };
  await AuditLog.collection.updateOne(
    { seq: 2 },
    { $set: { actor: 'nobody', hash: auditEntryHash(forged) } },
  );
  expect((await verifyAuditChain()).firstBreak).toMatchObject({ problem: 'broken_link', seq: 3 });

  await AuditLog.collection.deleteMany({});
  await chainOf(5);
  await AuditLog.collection.deleteOne({ seq: 4 });
  expect((await verifyAuditChain()).firstBreak).toMatchObject({ problem: 'gap', seq: 5, expectedSeq: 4 });

  await AuditLog.collection.deleteMany({});
  await chainOf(2);
  await AuditLog.collection.insertOne({
    at: new Date(),
    actor: 'x',
    action: 'user.created',
    targetType: 'user',
    targetId: 'x',
  });
  expect((await verifyAuditChain()).firstBreak).toMatchObject({ problem: 'unchained', seq: null });
});

test('the model refuses updates and deletes: the log is append-only', async () => {
  await chainOf(1);
  await expect(AuditLog.updateOne({ seq: 1 }, { $set: { actor: 'x' } })).rejects.toThrow('append-only');
  await expect(AuditLog.deleteMany({})).rejects.toThrow('append-only');
  const doc = await AuditLog.findOne({ seq: 1 });
  doc!.actor = 'x';
  await expect(doc!.save()).rejects.toThrow('append-only');
  expect((await verifyAuditChain()).ok).toBe(true);
});

test('details hold ids, counts and flags only', async () => {
  await expect(
    appendAudit({
      actor: 'a',
      action: 'x.y',
      targetType: 't',
      targetId: '1',
      details: { nested: { phone: '0903' } } as never,
    }),
  ).rejects.toThrow('ids, counts and flags only');
  expect(await AuditLog.countDocuments({})).toBe(0);
});

test('code that still calls AuditLog.create gets chained entries too', async () => {
  await chainOf(1);
  await AuditLog.create({
    at: new Date(),
    actor: 'system',
    action: 'case.escalated',
    targetType: 'case',
    targetId: 'c1',
    unitCode: '477',
  });
  const e = await AuditLog.findOne({ targetId: 'c1' }).lean();
  expect(e!.seq).toBe(2);
  expect((await verifyAuditChain()).ok).toBe(true);
});

function appender(actor: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '../support/audit-append-child.ts')],
      {
        env: {
          ...process.env,
          MONGODB_URI: mongoUri(),
          TEST_DB: dbName,
          TEST_COUNT: String(count),
          TEST_PARALLEL: '4',
          TEST_ACTOR: actor,
          LOG_LEVEL: 'silent',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    proc.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`appender ${actor} exited with ${code}`)),
    );
  });
}

test('two processes and this one appending at once make one unbroken chain, nothing lost', async () => {
  const here = Promise.all(
    Array.from({ length: 15 }, (_, i) =>
      appendAudit({ actor: 'here', action: 'test.append', targetType: 'test', targetId: `here-${i}` }),
    ),
  );
  await Promise.all([appender('child-a', 25), appender('child-b', 25), here]);
  const r = await verifyAuditChain();
  expect(r).toMatchObject({ ok: true, checked: 65, head: { seq: 65 } });
  for (const actor of ['here', 'child-a', 'child-b']) {
    const ids = (await AuditLog.find({ actor }, { targetId: 1 }).lean()).map((e) => e.targetId);
    expect(new Set(ids).size).toBe(actor === 'here' ? 15 : 25);
  }
});
