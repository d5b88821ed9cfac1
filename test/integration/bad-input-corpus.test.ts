import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import mongoose from 'mongoose';
import { zaloSignatureHeader } from '../../bot/channels/zalo/signature';
import { defaultFlow } from '../../bot/flow/default-flow';
import { issueSurveyToken } from '../../bot/survey/token';
import { demoResponses } from '../../cli/seed-data/demo';
import { createApiKey, signBody } from '../../lib/api-auth';
import { hashPhone } from '../../lib/phone';
import { hcmDay, hcmYear } from '../../lib/time';
import { Case } from '../../models/case';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { FakeTelegram } from '../fakes/telegram-server';
import { signedIn, type ApiClient } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { runHailongHere } from '../support/cli';

/**
 * The bad-input corpus (issue 21): every case in test/fixtures/bad-input/*.json is sent to the
 * whole HTTP server (`hailong start`'s, role http: nothing consumes the queues, so whatever a case
 * stored would stay visible) on the real Redis and MongoDB-compatible server, or through the CLI's
 * file import. Each case states its status; unless it says `changes`, the database (every
 * collection, counted and hashed) and Redis (every key under the test prefix, dumped and hashed)
 * must be the same before and after it. How to add a case: docs/security.md.
 */
interface Case {
  id: string;
  why: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  json?: unknown;
  raw?: string;
  form?: Record<string, string>;
  auth?: 'key' | 'session' | 'session-no-csrf';
  hmac?: 'stale' | 'future' | 'replay' | 'altered' | 'badsig' | 'malformed-ts' | 'no-signature';
  zalo?: 'good' | 'none' | 'wrong' | 'short' | 'altered';
  webSession?: boolean;
  csv?: string;
  csvLatin1?: string;
  xlsx?: string[][];
  export?: string;
  /** A case whose dossier code, procedure code and escalation are this text, then the report's XLSX. */
  exportXlsx?: string;
  expect: {
    status: number;
    changes?: boolean;
    contains?: string[];
    lacks?: string[];
    stored?: { code: string; field: string; equals?: string; phone?: string };
    cellStartsWith?: string;
  };
}

const DIR = join(__dirname, '..', 'fixtures', 'bad-input');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({
    file,
    ...(JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { surface: string; cases: Case[] }),
  }));

const TG_SECRET = 'corpus_secret-TOKEN_123';
const ZALO = { appId: 'corpus-app', appSecret: 'corpus-app-secret', oaSecret: 'corpus-oa-secret' };
const SECRETS_KEY = '44'.repeat(32);
const UNIT = 'BI01';
/**
 * What may change on a refused request without anything being stored: request budgets, the
 * replay marks of signatures, official sign-in sessions and failure counters (lib/auth), and
 * an API key's "last used" time, the stalled-job check mark BullMQ refreshes by itself, and the
 * last successful platform call each process publishes on a timer (lib/platform-health.ts).
 */
const IGNORED_KEYS = [/:rl:/, /:apisig:/, /:auth:/, /:stalled-check$/, /:obs:platform-ok$/];
const IGNORED_FIELDS: Record<string, string[]> = { apikeys: ['lastUsedAt', 'updatedAt'] };

let fake: FakeTelegram;
let t: TestApp;
let admin: ApiClient;
let key: { key: string; keyId: string; signingSecret: string };
const tokens: Record<string, string> = {};
const tmp = mkdtempSync(join(tmpdir(), 'hl-bad-input-'));
let seq = 0;

beforeAll(async () => {
  fake = await FakeTelegram.start();
  t = await startTestApp(
    'badinput',
    {
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_ROOT: fake.apiRoot,
      TELEGRAM_MODE: 'webhook',
      TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
      ZALO_APP_ID: ZALO.appId,
      ZALO_APP_SECRET: ZALO.appSecret,
      ZALO_OA_SECRET_KEY: ZALO.oaSecret,
      SECRETS_KEY,
    },
    ['http'],
  );
  await Unit.create({ code: UNIT, name: 'Đơn vị kiểm thử', level: 'commune' });
  const created = await createApiKey({ name: 'corpus', signing: true, secretsKey: SECRETS_KEY });
  key = { key: created.key, keyId: created.keyId, signingSecret: created.signingSecret! };
  admin = await signedIn(t, 'corpus-admin', 'admin');
  for (const [name, code, issuedAgoH, ttlH] of [
    ['TOKEN', 'BI-TOKEN-VALID', 0, 24],
    ['TOKEN_EXPIRED', 'BI-TOKEN-EXPIRED', 48, 1],
  ] as const) {
    await Dossier.create({
      code,
      procedureCode: '1.001234',
      procedureName: 'Chứng thực bản sao',
      unitCode: UNIT,
      channel: 'in_person',
      status: 'finished',
      finishedAt: new Date(),
    });
    tokens[name] = (await issueSurveyToken(code, new Date(Date.now() - issuedAgoH * 3600_000), ttlH)).token;
  }
  tokens.TOKEN_FORGED = randomBytes(24).toString('base64url');
  const v = tokens.TOKEN!;
  tokens.TOKEN_TAMPERED = v.slice(0, -1) + (v.endsWith('A') ? 'B' : 'A');
}, 120_000);

afterAll(async () => {
  await t?.stop();
  await fake?.close();
});

// ---- the state a case must leave as it found it ----

async function snapshot(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const db = mongoose.connection.db!;
  for (const c of await db.listCollections().toArray()) {
    const docs = await db.collection(c.name).find({}).sort({ _id: 1 }).toArray();
    const h = createHash('sha256');
    for (const d of docs) {
      for (const f of IGNORED_FIELDS[c.name] ?? []) delete (d as Record<string, unknown>)[f];
      h.update(JSON.stringify(d));
    }
    out.set(`mongo:${c.name}`, `${docs.length}:${h.digest('hex').slice(0, 16)}`);
  }
  let cursor = '0';
  do {
    const [next, keys] = await t.redis.scan(cursor, 'MATCH', `${t.env.REDIS_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      if (IGNORED_KEYS.some((re) => re.test(k))) continue;
      const dump = await t.redis.dumpBuffer(k);
      out.set(`redis:${k}`, dump ? createHash('sha256').update(dump).digest('hex').slice(0, 16) : 'gone');
    }
  } while (cursor !== '0');
  return out;
}

function differences(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys]
    .filter((k) => a.get(k) !== b.get(k))
    .map((k) => `${k}: ${a.get(k) ?? '∅'} → ${b.get(k) ?? '∅'}`);
}

// ---- building a case's request from its data ----

function nested(depth: number): unknown {
  let v: unknown = 'end';
  for (let i = 0; i < depth; i++) v = { x: v };
  return v;
}

function baseDossier(code: string): Record<string, unknown> {
  return {
    code,
    procedureCode: '1.001234',
    procedureName: 'Đăng ký khai sinh',
    unitCode: UNIT,
    channel: 'in_person',
    status: 'received',
  };
}

function subst(s: string, code: string): string {
  return s
    .replace(/\{\{STRING:(\d+)\}\}/g, (_m, n: string) => 'x'.repeat(Number(n)))
    .replace(/\{\{MS_AGO:(-?\d+)\}\}/g, (_m, n: string) => String(Date.now() - Number(n)))
    .replace(/\{\{NOW_MS\}\}/g, String(Date.now()))
    .replace(/\{\{TG_SECRET\}\}/g, TG_SECRET)
    .replace(/\{\{API_KEY_SHORT\}\}/g, key.key.slice(0, -5))
    .replace(/\{\{CODE\}\}/g, code)
    .replace(/\{\{UNIT\}\}/g, UNIT)
    .replace(/\{\{(TOKEN(?:_[A-Z]+)?)\}\}/g, (_m, name: string) => tokens[name]!);
}

/** `@base` merges a generated value under the case's own fields; {{DEEP:n}}, {{ARRAY:n}} generate values. */
function expand(v: unknown, code: string): unknown {
  if (typeof v === 'string') {
    const deep = /^\{\{DEEP:(\d+)\}\}$/.exec(v);
    if (deep) return nested(Number(deep[1]));
    const array = /^\{\{ARRAY:(\d+)\}\}$/.exec(v);
    if (array) return new Array<number>(Number(array[1])).fill(0);
    if (v === '{{DOSSIER}}') return baseDossier(code);
    return subst(v, code);
  }
  if (Array.isArray(v)) return v.map((x) => expand(x, code));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const base = '@base' in o ? (expand(o['@base'], code) as Record<string, unknown>) : {};
    const own = Object.entries(o).filter(([k]) => k !== '@base');
    return { ...base, ...Object.fromEntries(own.map(([k, x]) => [k, expand(x, code)])) };
  }
  return v;
}

interface Built {
  url: string;
  init: RequestInit;
  /** Sent before the state is taken (the first of a replayed pair). */
  before?: RequestInit;
}

function build(c: Case, code: string, from: string): Built {
  const headers: Record<string, string> = { 'x-forwarded-for': from };
  for (const [k, v] of Object.entries(c.headers ?? {})) headers[k] = subst(v, code);
  let body: string | undefined;
  if (c.raw !== undefined) body = subst(c.raw, code);
  else if (c.form !== undefined) {
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    body = new URLSearchParams(
      Object.fromEntries(Object.entries(c.form).map(([k, v]) => [k, subst(v, code)])),
    ).toString();
  } else if (c.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(expand(c.json, code));
  }
  if (c.auth === 'key') headers.authorization = `Bearer ${key.key}`;
  if (c.auth === 'session' || c.auth === 'session-no-csrf') headers.cookie = admin.cookie!;
  if (c.auth === 'session') headers['x-csrf-token'] = admin.csrf!;
  let before: RequestInit | undefined;
  if (c.hmac) {
    const now = Math.floor(Date.now() / 1000);
    const ts = c.hmac === 'stale' ? now - 600 : c.hmac === 'future' ? now + 600 : now;
    const raw = Buffer.from(body ?? '');
    const secret = c.hmac === 'badsig' ? randomBytes(32).toString('base64url') : key.signingSecret;
    headers['x-hailong-key-id'] = key.keyId;
    headers['x-hailong-timestamp'] = c.hmac === 'malformed-ts' ? 'yesterday' : String(ts);
    if (c.hmac !== 'no-signature') headers['x-hailong-signature'] = `v1=${signBody(secret, String(ts), raw)}`;
    if (c.hmac === 'altered') body = body!.replace('"status":"received"', '"status":"finished"');
    if (c.hmac === 'replay') before = { method: c.method, headers: { ...headers }, body: body! };
  }
  if (c.zalo && c.zalo !== 'none') {
    const parsed = JSON.parse(body!) as { timestamp?: unknown };
    const ts = String(parsed.timestamp ?? '');
    const secret = c.zalo === 'wrong' ? 'another-secret' : ZALO.oaSecret;
    let sig = zaloSignatureHeader(ZALO.appId, Buffer.from(body!), ts, secret);
    if (c.zalo === 'short') sig = sig.slice(0, -8);
    headers['x-zevent-signature'] = sig;
    if (c.zalo === 'altered') body = body!.replace('"hi"', '"hello"');
  }
  return {
    url: t.baseUrl + subst(c.path!, code),
    init: { method: c.method ?? 'GET', headers, ...(body !== undefined ? { body } : {}), redirect: 'manual' },
    ...(before ? { before } : {}),
  };
}

async function webCookie(path: string): Promise<string> {
  const r = await fetch(t.baseUrl + path);
  const set = r.headers.getSetCookie().find((s) => s.startsWith('hl_web='));
  if (!set) throw new Error('the web chat set no device cookie');
  return set.split(';')[0]!;
}

async function importFile(c: Case, code: string): Promise<number> {
  const file = join(tmp, `${c.id}.${c.xlsx ? 'xlsx' : 'csv'}`);
  if (c.csv !== undefined) writeFileSync(file, subst(c.csv, code), 'utf8');
  else if (c.csvLatin1 !== undefined) writeFileSync(file, subst(c.csvLatin1, code), 'latin1');
  else {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Hồ sơ').addRows(c.xlsx!.map((row) => row.map((cell) => subst(cell, code))));
    await wb.xlsx.writeFile(file);
  }
  return (await runHailongHere(['import', 'dossiers', file])).code;
}

/** A completed response whose optional suggestion is `text`, then `hailong export responses`: the cell. */
async function exportedSuggestion(text: string): Promise<{ status: number; cell: string | undefined }> {
  const flow = defaultFlow;
  const demo = demoResponses(flow, new Date(), 3).find((d) => d.answers.length > 0)!;
  const answers = [
    ...demo.answers.filter((a) => a.questionId !== 'q7'),
    { questionId: 'q7', element: null, type: 'free_text', value: null, text },
  ];
  await storeCompletion(demo.responseId, demo.meta, answers, demo.completedAt);
  const run = await runHailongHere(['export', 'responses']);
  const rows = parseCsv(run.stdout, { bom: true, relax_column_count: true }) as string[][];
  // The typed text, as is or with the quote that keeps a spreadsheet from reading a formula.
  const cell = rows.flat().find((v) => v === text || v === `'${text}`);
  return { status: run.code, cell };
}

/**
 * A case whose texts from outside (the dossier code and procedure code a one-stop system sent, the
 * unit it was escalated to) are `text`, then GET /api/v1/reports/export.xlsx: every cell holding
 * the text must be a string cell, and no cell of the workbook a formula.
 */
async function exportedXlsx(text: string, code: string): Promise<{ status: number; problems: string[] }> {
  const now = new Date();
  await Case.create({
    caseId: `case-${code}`,
    responseId: `resp-${code}`,
    dossierCode: text,
    unitCode: UNIT,
    procedureCode: text,
    items: [{ element: 'TIEP_CAN', questionId: 'q1', value: 1, reasons: [] }],
    status: 'open',
    openedAt: now,
    dueAt: new Date(now.getTime() + 86_400_000),
    day: hcmDay(now),
    escalatedTo: text,
  });
  const r = await fetch(`${t.baseUrl}/api/v1/reports/export.xlsx?unit=${UNIT}&period=${hcmYear(now)}`, {
    headers: { cookie: admin.cookie! },
  });
  if (r.status !== 200) return { status: r.status, problems: [(await r.text()).slice(0, 300)] };
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(await r.arrayBuffer());
  const problems: string[] = [];
  let found = 0;
  wb.eachSheet((ws) =>
    ws.eachRow((row) =>
      row.eachCell((c) => {
        if (c.type === ExcelJS.ValueType.Formula || c.formula)
          problems.push(`${ws.name}!${c.address} is a formula`);
        if (c.value === text) {
          found++;
          if (c.type !== ExcelJS.ValueType.String)
            problems.push(`${ws.name}!${c.address} is of type ${c.type}`);
        }
      }),
    ),
  );
  if (found < 3) problems.push(`the text is in ${found} cells, expected the 3 of its case`);
  return { status: r.status, problems };
}

async function storedValue(s: NonNullable<Case['expect']['stored']>, code: string): Promise<unknown> {
  const doc = (await Dossier.findOne({ code: subst(s.code, code) }).lean()) as Record<string, unknown> | null;
  return doc?.[s.field];
}

const ALL = FILES.flatMap((f) => f.cases.map((c) => [f.file, c.id, c] as const));

test('the corpus holds at least 80 cases, each with a unique id, a reason and a status', () => {
  expect(ALL.length).toBeGreaterThanOrEqual(80);
  expect(new Set(ALL.map(([, id]) => id)).size).toBe(ALL.length);
  for (const [, , c] of ALL) {
    expect(c.why.length).toBeGreaterThan(0);
    expect(Number.isInteger(c.expect.status)).toBe(true);
  }
});

test('the state is stable when nothing is sent (the check below can only fail because of a case)', async () => {
  const a = await snapshot();
  await new Promise((r) => setTimeout(r, 1500));
  expect(differences(a, await snapshot())).toEqual([]);
});

describe.each(FILES.map((f) => [f.file, f] as const))('%s', (_file, f) => {
  test.each(f.cases.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const code = `BI-${++seq}-${randomBytes(2).toString('hex')}`;
    const from = `198.18.${seq >> 8}.${seq & 255}`;
    let status: number;
    let text = '';
    let cell: string | undefined;
    let before: Map<string, string>;
    if (c.csv !== undefined || c.csvLatin1 !== undefined || c.xlsx) {
      before = await snapshot();
      status = await importFile(c, code);
    } else if (c.export !== undefined) {
      before = await snapshot();
      ({ status, cell } = await exportedSuggestion(c.export));
    } else if (c.exportXlsx !== undefined) {
      before = await snapshot();
      let problems: string[];
      ({ status, problems } = await exportedXlsx(c.exportXlsx, code));
      expect(problems).toEqual([]);
    } else {
      const built = build(c, code, from);
      if (c.webSession) {
        const cookie = await webCookie(subst(c.path!, code));
        (built.init.headers as Record<string, string>).cookie = cookie;
      }
      if (built.before) await fetch(built.url, built.before);
      before = await snapshot();
      const r = await fetch(built.url, built.init);
      status = r.status;
      text = await r.text();
    }
    const after = await snapshot();
    expect({ id: c.id, status, text: status === c.expect.status ? '' : text.slice(0, 300) }).toEqual({
      id: c.id,
      status: c.expect.status,
      text: '',
    });
    if (!c.expect.changes && !c.expect.stored) expect(differences(before, after)).toEqual([]);
    for (const s of c.expect.contains ?? []) expect(text).toContain(s);
    for (const s of c.expect.lacks ?? []) expect(text).not.toContain(s);
    if (c.expect.stored) {
      const s = c.expect.stored;
      const want = s.phone ? hashPhone(s.phone, t.env.PHONE_HASH_KEY) : s.equals;
      expect(await storedValue(s, code)).toBe(subst(want!, code));
    }
    if (c.expect.cellStartsWith) {
      expect(cell).toBeDefined();
      expect(cell!.startsWith(c.expect.cellStartsWith)).toBe(true);
    }
  });
});
