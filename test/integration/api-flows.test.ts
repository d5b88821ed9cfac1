import { defaultFlow, DEFAULT_FLOW_VERSIONS } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { API_PREFIX } from '../../bot/http/api/register';
import { Answer } from '../../models/answer';
import { AuditLog } from '../../models/audit-log';
import { Flow as FlowModel } from '../../models/flow';
import { Response } from '../../models/response';
import { Rollup } from '../../models/rollup';
import { RollupMonth } from '../../models/rollup-month';
import { Session } from '../../models/session';
import { ApiClient, seedUnits, signedIn, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';

let t: TestApp;
let contract: OpenApiContract;
let admin: ApiClient;
let district: ApiClient;
let danDien: ApiClient;
let quangDien: ApiClient;

beforeAll(async () => {
  t = await startTestApp('apiflows', {}, ['http']);
  await seedUnits();
  for (const f of DEFAULT_FLOW_VERSIONS) await new FlowRepository().ensure(f);
  admin = await signedIn(t, 'admin.flows', 'admin');
  district = await signedIn(t, 'district.flows', 'district', ['477']);
  danDien = await signedIn(t, 'dandien.flows', 'unit', ['QD-DAN-DIEN']);
  quangDien = await signedIn(t, 'quangdien.flows', 'unit', ['QD-QUANG-DIEN']);
  contract = await OpenApiContract.load(t.baseUrl);
}, 120_000);
afterAll(async () => {
  await t.stop();
});

/** Calls the API and checks the answer against the OpenAPI document (status and body schema). */
async function call(
  c: ApiClient,
  method: string,
  route: string,
  path: string,
  opts: { body?: unknown; query?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const res = await c.request(method, API_PREFIX + path, opts);
  expect(
    contract.check(
      method,
      API_PREFIX + route,
      res.status,
      res.headers.get('content-type'),
      res.status === 204 ? res.text : res.body,
    ),
  ).toEqual([]);
  return res;
}

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
type Def = { nodes: Array<Record<string, unknown>> } & Record<string, unknown>;

async function newDraft(c: ApiClient, body: Record<string, unknown>): Promise<ApiResponse> {
  const r = await call(c, 'POST', '/flow-drafts', '/flow-drafts', { body });
  expect(r.status).toBe(201);
  return r;
}

describe('drafts and validation', () => {
  test('a draft copies the latest version; an invalid edit is saved, and validate answers 422 with the path of each offending field', async () => {
    const d = await newDraft(district, { key: 'default', unitCode: '477' });
    expect(d.body).toMatchObject({
      key: 'default',
      unitCode: '477',
      baseVersion: defaultFlow.version,
      rev: 0,
      valid: true,
      issues: [],
    });
    const def = copy(d.body.definition) as Def;
    def.nodes[2]!.next = 'nowhere';
    (def.nodes[3]!.options as Array<{ value: string }>)[1]!.value = 'kho_tim';
    const saved = await call(district, 'PUT', '/flow-drafts/:id', `/flow-drafts/${d.body.id}`, {
      body: { rev: 0, definition: def },
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ rev: 1, valid: false });
    const v = await call(district, 'POST', '/flow-drafts/:id/validate', `/flow-drafts/${d.body.id}/validate`);
    expect(v.status).toBe(422);
    expect(v.body.error).toBe('invalid_request');
    expect(v.body.details).toEqual(
      expect.arrayContaining([
        { path: 'nodes.2.next', message: 'target "nowhere" does not exist' },
        { path: 'nodes.3.options.1.value', message: 'duplicate option value "kho_tim"' },
      ]),
    );
    // A schema error has its path too.
    def.nodes[0]!.text = { vi: '' };
    await call(district, 'PUT', '/flow-drafts/:id', `/flow-drafts/${d.body.id}`, {
      body: { rev: 1, definition: def },
    });
    const v2 = await call(
      district,
      'POST',
      '/flow-drafts/:id/validate',
      `/flow-drafts/${d.body.id}/validate`,
    );
    expect(v2.body.details).toEqual([{ path: 'nodes.0.text.vi', message: 'Vietnamese text is required' }]);
    // Publishing an invalid draft writes nothing.
    const before = await FlowModel.countDocuments({ key: 'default' });
    const p = await call(district, 'POST', '/flow-drafts/:id/publish', `/flow-drafts/${d.body.id}/publish`, {
      body: { rev: 2 },
    });
    expect(p.status).toBe(422);
    expect(await FlowModel.countDocuments({ key: 'default' })).toBe(before);
  });

  test('an edit with a stale rev is refused with 409 and changes nothing', async () => {
    const d = await newDraft(admin, { key: 'default' });
    expect(d.body.unitCode).toBeNull();
    const def = copy(d.body.definition) as Def;
    await call(admin, 'PUT', '/flow-drafts/:id', `/flow-drafts/${d.body.id}`, {
      body: { rev: 0, definition: def },
    });
    def.title = { vi: 'Khác' };
    const stale = await call(admin, 'PUT', '/flow-drafts/:id', `/flow-drafts/${d.body.id}`, {
      body: { rev: 0, definition: def },
    });
    expect(stale.status).toBe(409);
    const now = await call(admin, 'GET', '/flow-drafts/:id', `/flow-drafts/${d.body.id}`);
    expect(now.body.rev).toBe(1);
    expect(now.body.definition.title).toEqual(defaultFlow.title);
  });

  test("a commune's manager reads the drafts of its subtree only and cannot edit one", async () => {
    const mine = await newDraft(admin, { key: 'default', unitCode: 'QD-DAN-DIEN' });
    const theirs = await newDraft(admin, { key: 'default', unitCode: 'QD-QUANG-DIEN' });
    expect((await call(danDien, 'GET', '/flow-drafts/:id', `/flow-drafts/${mine.body.id}`)).status).toBe(200);
    expect((await call(danDien, 'GET', '/flow-drafts/:id', `/flow-drafts/${theirs.body.id}`)).status).toBe(
      404,
    );
    const list = await call(danDien, 'GET', '/flow-drafts', '/flow-drafts');
    const ids = (list.body.drafts as Array<{ id: string }>).map((d) => d.id);
    expect(ids).toContain(mine.body.id);
    expect(ids).not.toContain(theirs.body.id);
    expect(
      (
        await call(danDien, 'PUT', '/flow-drafts/:id', `/flow-drafts/${mine.body.id}`, {
          body: { rev: 0, definition: {} },
        })
      ).status,
    ).toBe(403);
  });
});

describe('publish, versions and diff', () => {
  test('publish makes the next immutable version, removes the draft, is audited, and makes nothing live by itself', async () => {
    const liveBefore = await call(danDien, 'GET', '/flows/live', '/flows/live', {
      query: { unitCode: 'QD-DAN-DIEN' },
    });
    const latest = (await FlowModel.findOne({ key: 'default' }).sort({ version: -1 }).lean())!.version;
    const d = await newDraft(district, { key: 'default', unitCode: '477' });
    const def = copy(d.body.definition) as Def;
    def.nodes[2]!.text = { vi: 'Ông/Bà đánh giá thế nào về việc tiếp cận dịch vụ?', en: 'How was access?' };
    (def.nodes[3]!.options as unknown[]).splice(2, 1); // drops "thiet_bi"
    def.nodes[2]!.branches = [{ when: { lte: 2 }, to: 'r1' }];
    const put = await call(district, 'PUT', '/flow-drafts/:id', `/flow-drafts/${d.body.id}`, {
      body: { rev: 0, definition: def },
    });
    const p = await call(district, 'POST', '/flow-drafts/:id/publish', `/flow-drafts/${d.body.id}/publish`, {
      body: { rev: put.body.rev },
    });
    expect(p.status).toBe(201);
    expect(p.body).toEqual({ key: 'default', version: latest + 1, publishedFrom: d.body.id });
    expect((await call(district, 'GET', '/flow-drafts/:id', `/flow-drafts/${d.body.id}`)).status).toBe(404);

    const v = await call(
      danDien,
      'GET',
      '/flows/:key/versions/:version',
      `/flows/default/versions/${latest + 1}`,
    );
    expect(v.body).toMatchObject({
      key: 'default',
      version: latest + 1,
      status: 'published',
      createdBy: 'district.flows',
    });
    expect(v.body.definition.nodes[2].text.vi).toBe('Ông/Bà đánh giá thế nào về việc tiếp cận dịch vụ?');
    const entry = await AuditLog.findOne({ action: 'flow.published' }).sort({ seq: -1 }).lean();
    expect(entry).toMatchObject({
      actor: 'district.flows',
      targetId: `default@${latest + 1}`,
      unitCode: '477',
    });

    // The next publish is the version after; the one before is unchanged.
    const d2 = await newDraft(admin, { key: 'default', fromVersion: latest + 1 });
    const p2 = await call(admin, 'POST', '/flow-drafts/:id/publish', `/flow-drafts/${d2.body.id}/publish`, {
      body: { rev: 0 },
    });
    expect(p2.body.version).toBe(latest + 2);
    const again = await call(
      admin,
      'GET',
      '/flows/:key/versions/:version',
      `/flows/default/versions/${latest + 1}`,
    );
    expect(again.body).toEqual(v.body);

    // Nothing live changed: the version live before is now the explicit default.
    const liveAfter = await call(danDien, 'GET', '/flows/live', '/flows/live', {
      query: { unitCode: 'QD-DAN-DIEN' },
    });
    expect(liveAfter.body).toMatchObject({ flowKey: 'default', version: liveBefore.body.version });
    expect(liveAfter.body.assignment).toMatchObject({ unitCode: null, procedureCode: null });

    const diff = await call(danDien, 'GET', '/flows/:key/diff', '/flows/default/diff', {
      query: { from: String(latest), to: String(latest + 1) },
    });
    expect(diff.status).toBe(200);
    expect(diff.body.nodes).toEqual({ added: [], removed: [], changed: ['q1', 'r1'] });
    expect(diff.body.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          node: 'q1',
          aspect: 'text',
          change: 'changed',
          path: 'text.vi',
          to: 'Ông/Bà đánh giá thế nào về việc tiếp cận dịch vụ?',
        }),
        expect.objectContaining({
          node: 'q1',
          aspect: 'branches',
          change: 'changed',
          to: [{ when: { lte: 2 }, to: 'r1' }],
        }),
        expect.objectContaining({
          node: 'r1',
          aspect: 'option',
          change: 'removed',
          path: 'options.thiet_bi',
        }),
      ]),
    );
    const listed = await call(quangDien, 'GET', '/flows', '/flows');
    const fam = (listed.body.flows as Array<{ key: string; latest: number }>).find(
      (f) => f.key === 'default',
    );
    expect(fam?.latest).toBe(latest + 2);
  });

  test('export and import round trip: the imported draft publishes a version with no difference', async () => {
    const exp = await call(
      district,
      'GET',
      '/flows/:key/versions/:version/export',
      `/flows/default/versions/${defaultFlow.version}/export`,
    );
    expect(exp.status).toBe(200);
    expect(exp.headers.get('content-disposition')).toBe(
      `attachment; filename="default@${defaultFlow.version}.flow.json"`,
    );
    expect(exp.body).toMatchObject({
      format: 'hailong.flow',
      formatVersion: 1,
      source: { key: 'default', version: defaultFlow.version },
    });
    const imp = await call(district, 'POST', '/flows/import', '/flows/import', {
      body: { document: exp.body },
    });
    expect(imp.status).toBe(201);
    expect(imp.body).toMatchObject({ key: 'default', unitCode: '477', valid: true });
    expect(imp.body.definition).toEqual(exp.body.flow);
    const p = await call(
      district,
      'POST',
      '/flow-drafts/:id/publish',
      `/flow-drafts/${imp.body.id}/publish`,
      { body: { rev: 0 } },
    );
    const diff = await call(district, 'GET', '/flows/:key/diff', '/flows/default/diff', {
      query: { from: String(defaultFlow.version), to: String(p.body.version) },
    });
    expect(diff.body).toMatchObject({ nodes: { added: [], removed: [], changed: [] }, changes: [] });
    // A document that is not an export is refused by its path and changes nothing.
    const bad = await call(district, 'POST', '/flows/import', '/flows/import', {
      body: { document: { format: 'other', flow: {} } },
    });
    expect(bad.status).toBe(422);
    expect((bad.body.details as Array<{ path: string }>).map((d) => d.path)).toEqual(
      expect.arrayContaining(['document.format']),
    );
  });
});

describe('live version assignments', () => {
  test('the most specific assignment wins, up the unit tree; a commune inherits, and its own choice beats it', async () => {
    await call(admin, 'PUT', '/flows/assignments', '/flows/assignments', {
      body: { unitCode: null, flowKey: 'default', version: 1 },
    });
    const asDistrict = await call(district, 'PUT', '/flows/assignments', '/flows/assignments', {
      body: { unitCode: '477', flowKey: 'default', version: 2 },
    });
    expect(asDistrict.status).toBe(200);
    // Quảng Thái (19870, merged into Đan Điền) inherits the old district's choice...
    const live = (unit: string, procedureCode?: string) =>
      call(admin, 'GET', '/flows/live', '/flows/live', {
        query: { unitCode: unit, ...(procedureCode ? { procedureCode } : {}) },
      });
    expect((await live('19870')).body).toMatchObject({ version: 2, assignment: { unitCode: '477' } });
    // ...until Đan Điền chooses for its subtree; a procedure of the unit beats the unit.
    expect(
      (
        await call(danDien, 'PUT', '/flows/assignments', '/flows/assignments', {
          body: { unitCode: 'QD-DAN-DIEN', flowKey: 'default', version: 1 },
        })
      ).status,
    ).toBe(200);
    await call(danDien, 'PUT', '/flows/assignments', '/flows/assignments', {
      body: { unitCode: '19870', procedureCode: '1.001234', flowKey: 'default', version: 2 },
    });
    expect((await live('19870')).body).toMatchObject({ version: 1, assignment: { unitCode: 'QD-DAN-DIEN' } });
    expect((await live('19870', '1.001234')).body).toMatchObject({
      version: 2,
      assignment: { unitCode: '19870', procedureCode: '1.001234' },
    });
    expect((await live('QD-HOA-CHAU')).body).toMatchObject({ version: 1, assignment: { unitCode: null } });

    // Outside its subtree, or every unit at once: 404, as for anything it cannot see.
    expect(
      (
        await call(danDien, 'PUT', '/flows/assignments', '/flows/assignments', {
          body: { unitCode: 'QD-QUANG-DIEN', flowKey: 'default', version: 2 },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await call(danDien, 'PUT', '/flows/assignments', '/flows/assignments', {
          body: { unitCode: null, flowKey: 'default', version: 2 },
        })
      ).status,
    ).toBe(404);
    // A version that is not published.
    const bad = await call(danDien, 'PUT', '/flows/assignments', '/flows/assignments', {
      body: { unitCode: 'QD-DAN-DIEN', flowKey: 'default', version: 999 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.details).toEqual([expect.objectContaining({ path: 'version' })]);

    const entry = await AuditLog.findOne({ action: 'flow.assigned', unitCode: 'QD-DAN-DIEN' })
      .sort({ seq: -1 })
      .lean();
    expect(entry).toMatchObject({
      actor: 'dandien.flows',
      targetId: 'QD-DAN-DIEN/*',
      details: { flowKey: 'default', version: 1 },
    });
    const mine = await call(danDien, 'GET', '/flows/assignments', '/flows/assignments');
    expect((mine.body.assignments as Array<{ unitCode: string }>).map((a) => a.unitCode).sort()).toEqual([
      '19870',
      'QD-DAN-DIEN',
    ]);

    // Removing it: the unit inherits again.
    expect(
      (
        await call(danDien, 'DELETE', '/flows/assignments', '/flows/assignments', {
          query: { unitCode: 'QD-DAN-DIEN' },
        })
      ).status,
    ).toBe(204);
    expect((await live('19870')).body).toMatchObject({ version: 2, assignment: { unitCode: '477' } });
    expect(
      (
        await call(danDien, 'DELETE', '/flows/assignments', '/flows/assignments', {
          query: { unitCode: 'QD-DAN-DIEN' },
        })
      ).status,
    ).toBe(404);
  });
});

/** Every Redis key of this test's prefix. */
async function redisKeys(): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await t.redis.scan(cursor, 'MATCH', `${t.env.REDIS_PREFIX}:*`, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

describe('preview', () => {
  test('a preview runs the draft through the engine to the end, and nothing is stored or counted', async () => {
    // A commune's manager cannot write drafts; it previews those of its subtree.
    expect(
      (await call(danDien, 'POST', '/flow-drafts', '/flow-drafts', { body: { key: 'default' } })).status,
    ).toBe(403);
    const draft = await newDraft(admin, { key: 'default', unitCode: 'QD-DAN-DIEN' });
    const def = copy(draft.body.definition) as Def;
    def.nodes[2]!.text = { vi: 'Câu hỏi thử nghiệm về tiếp cận?' };
    await call(admin, 'PUT', '/flow-drafts/:id', `/flow-drafts/${draft.body.id}`, {
      body: { rev: 0, definition: def },
    });
    const counts = async () => [
      await Response.countDocuments(),
      await Answer.countDocuments(),
      await Rollup.countDocuments(),
      await RollupMonth.countDocuments(),
      await Session.countDocuments(),
    ];
    const before = await counts();
    const keysBefore = new Set(await redisKeys());

    const start = await call(danDien, 'POST', '/previews', '/previews', {
      body: { draftId: draft.body.id, vars: { donvi: 'Xã Đan Điền' } },
    });
    expect(start.status).toBe(201);
    type Msg = { kind: string; text: string; choices?: Array<Array<{ label: string; action: unknown }>> };
    type Turn = { turns: Array<{ messages: Msg[] }> };
    const lastMessage = (body: Turn): Msg => body.turns[0]!.messages[body.turns[0]!.messages.length - 1]!;
    const consent = lastMessage(start.body as Turn);
    expect(consent).toMatchObject({ kind: 'question', node: 'consent', expects: 'choice' });
    expect(consent.text).toContain('Xã Đan Điền');
    const id = start.body.id as string;
    const yes = (consent.choices ?? []).flat().find((c) => c.label === 'Đồng ý')!;
    let turn = await call(danDien, 'POST', '/previews/:id/inputs', `/previews/${id}/inputs`, {
      body: { input: { kind: 'action', action: yes.action } },
    });
    expect(turn.status).toBe(200);
    expect(lastMessage(turn.body as Turn).text).toContain('Câu hỏi thử nghiệm về tiếp cận?');
    for (const answer of ['5', '5', '5', '5', '5', '5']) {
      turn = await call(danDien, 'POST', '/previews/:id/inputs', `/previews/${id}/inputs`, {
        body: { input: { kind: 'text', text: answer } },
      });
      expect(turn.body.turns[0].answers.length).toBe(1);
    }
    turn = await call(danDien, 'POST', '/previews/:id/inputs', `/previews/${id}/inputs`, {
      body: { input: { kind: 'text', text: 'Góp ý thử' } },
    });
    expect(turn.body.status).toBe('completed');
    expect(turn.body.turns[0].answers).toEqual([
      expect.objectContaining({ questionId: 'q7', text: 'Góp ý thử' }),
    ]);
    const all = await call(danDien, 'GET', '/previews/:id', `/previews/${id}`);
    expect(all.body.turns).toHaveLength(9);

    // Nothing stored with real answers, nothing counted, no job queued (the one new Redis key is
    // the preview's); the preview itself expires.
    expect(await counts()).toEqual(before);
    const added = (await redisKeys()).filter((k) => !keysBefore.has(k) && !k.includes(':auth:'));
    expect(added).toEqual([`${t.env.REDIS_PREFIX}:preview:${id}`]);
    const ttl = await t.redis.pttl(`${t.env.REDIS_PREFIX}:preview:${id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30 * 60_000);
  });

  test("a commune's manager can neither preview another unit's draft nor read its preview", async () => {
    const theirs = await newDraft(admin, { key: 'default', unitCode: 'QD-QUANG-DIEN' });
    expect(
      (await call(danDien, 'POST', '/previews', '/previews', { body: { draftId: theirs.body.id } })).status,
    ).toBe(404);
    const started = await call(quangDien, 'POST', '/previews', '/previews', {
      body: { draftId: theirs.body.id },
    });
    expect(started.status).toBe(201);
    expect((await call(danDien, 'GET', '/previews/:id', `/previews/${started.body.id}`)).status).toBe(404);
    expect(
      (
        await call(danDien, 'POST', '/previews/:id/inputs', `/previews/${started.body.id}/inputs`, {
          body: { input: { kind: 'text', text: '1' } },
        })
      ).status,
    ).toBe(404);
  });

  test('an invalid draft cannot be previewed: 422 with the paths', async () => {
    const d = await newDraft(admin, { key: 'default', unitCode: 'QD-DAN-DIEN' });
    const def = copy(d.body.definition) as Def;
    def.start = 'missing';
    await call(admin, 'PUT', '/flow-drafts/:id', `/flow-drafts/${d.body.id}`, {
      body: { rev: 0, definition: def },
    });
    const r = await call(danDien, 'POST', '/previews', '/previews', { body: { draftId: d.body.id } });
    expect(r.status).toBe(422);
    expect(r.body.details).toEqual(
      expect.arrayContaining([{ path: 'start', message: 'start node "missing" does not exist' }]),
    );
  });
});
