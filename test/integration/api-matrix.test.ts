import { API_PREFIX } from '../../bot/http/api/register';
import type { ApiRoute } from '../../bot/http/api/route';
import { API_ROUTES } from '../../bot/http/api/routes';
import { PreviewStore } from '../../bot/conversation/preview';
import { assign } from '../../bot/flow/assignments';
import { defaultFlow, DEFAULT_FLOW_VERSIONS } from '../../bot/flow/default-flow';
import { createDraft } from '../../bot/flow/drafts';
import { FlowRepository } from '../../bot/flow/repository';
import { createApiKey } from '../../lib/api-auth';
import { appendAudit } from '../../lib/audit/writer';
import { can, type CallerRole } from '../../lib/auth/roles';
import { hcmYear } from '../../lib/time';
import { ActionNote } from '../../models/action-note';
import { Procedure } from '../../models/procedure';
import type { UserRole } from '../../models/user';
import { ApiClient, createUser, GOOD_PASSWORD, seedUnits, type ApiResponse } from '../support/api';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';
import { makeBroadcast, makeCase, makeDossier, makeFlag } from '../support/survey-fixtures';

/**
 * Every route of the table × every role (and no caller at all) × a unit inside and a unit
 * outside the caller's scope. The expected answer comes from the route's own declaration
 * (auth, permission, scope rule), so a new route is tried as soon as it is in the table, and a
 * route without a sample below fails the suite. Every answer is also checked against the
 * OpenAPI document the server serves (its status documented, its body matching the schema).
 *
 * Scopes (seed units): district = 477 (the old district and its communes); unit, broadcaster,
 * viewer and the key = QD-DAN-DIEN (merged 1/7/2025 from 19870, 19876, 19885, 19897). Inside:
 * 19870 for everyone (a commune of 477, absorbed by QD-DAN-DIEN). Outside: QD-DAN-DIEN for the
 * district (it sits under the province), 19867 for the others (a neighbour merged into
 * QD-QUANG-DIEN). An admin sees both.
 */
type MatrixRole = CallerRole | 'anonymous';
const ROLES: MatrixRole[] = ['admin', 'district', 'unit', 'broadcaster', 'viewer', 'key', 'anonymous'];
const UNITS_OF: Record<Exclude<UserRole, 'admin'> | 'key', string[]> = {
  district: ['477'],
  unit: ['QD-DAN-DIEN'],
  broadcaster: ['QD-DAN-DIEN'],
  viewer: ['QD-DAN-DIEN'],
  key: ['QD-DAN-DIEN'],
};
const IN = '19870';
const outOf = (role: MatrixRole) => (role === 'district' ? 'QD-DAN-DIEN' : '19867');
const FIXTURE_UNITS = ['19870', '19867', 'QD-DAN-DIEN'];
const slug = (unit: string) => unit.toLowerCase();

interface Request {
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}
interface Sample {
  /** The request of this route about `unit` (list routes ignore it: they list the caller's units). */
  request(unit: string, role: MatrixRole): Request | Promise<Request>;
  /** List routes: a piece of the answer that only data of `unit` has. */
  marker?(unit: string): string;
  /**
   * The answer an allowed caller gets here when the route's success needs what this server lacks
   * (a linked chat, a configured channel): a documented error status; its own test covers the success.
   */
  allowed?: number;
  /** After a success: keep the fixtures usable (a changed password). */
  after?(role: MatrixRole, req: Request): void;
}

let t: TestApp;
let contract: OpenApiContract;
const passwords = new Map<MatrixRole, string>();
const clients = new Map<MatrixRole, ApiClient>();
let keyForMatrix = '';
let counter = 0;
const next = () => ++counter;
let broadcastsMade: Promise<unknown> | null = null;
/** One broadcast to each fixture unit, for the list's markers. */
const broadcastFixtures = () => (broadcastsMade ??= Promise.all(FIXTURE_UNITS.map((u) => makeBroadcast(u))));
/** The period of the figures' samples (this year, Asia/Ho_Chi_Minh). */
const YEAR = hcmYear(new Date());

/** One sample per route id: how to call it. A route missing here fails 'every route has a sample'. */
const SAMPLES: Record<string, Sample> = {
  'auth.login': {
    request: () => ({
      method: 'POST',
      path: '/auth/login',
      body: { username: 'login.matrix', password: GOOD_PASSWORD },
    }),
  },
  'auth.logout': { request: () => ({ method: 'POST', path: '/auth/logout' }) },
  'auth.me': { request: () => ({ method: 'GET', path: '/auth/me' }) },
  'auth.changePassword': {
    request: (_unit, role) => ({
      method: 'POST',
      path: '/auth/change-password',
      body: {
        currentPassword: passwords.get(role) ?? GOOD_PASSWORD,
        newPassword: `${GOOD_PASSWORD} lần ${next()}`,
      },
    }),
    after: (role, req) => void passwords.set(role, (req.body as { newPassword: string }).newPassword),
  },
  'me.chatLink.read': { request: () => ({ method: 'GET', path: '/me/chat-link' }) },
  'me.chatLink.create': { request: () => ({ method: 'POST', path: '/me/chat-link' }) },
  'me.chatLink.delete': { request: () => ({ method: 'DELETE', path: '/me/chat-link' }) },
  'units.list': { request: () => ({ method: 'GET', path: '/units' }), marker: (u) => `"code":"${u}"` },
  'units.get': { request: (u) => ({ method: 'GET', path: `/units/${u}` }) },
  'actionNotes.list': {
    request: () => ({ method: 'GET', path: '/action-notes' }),
    marker: (u) => `"unitCode":"${u}"`,
  },
  'actionNotes.create': {
    request: (u) => ({
      method: 'POST',
      path: '/action-notes',
      body: { unitCode: u, element: 'TIEP_CAN', date: '2026-10-01', text: `Thêm ghế chờ ${next()}` },
    }),
  },
  'actionNotes.delete': {
    request: async (u) => ({
      method: 'DELETE',
      path: `/action-notes/${(await ActionNote.create({ unitCode: u, element: 'TTHC', date: '2026-10-02', text: `Niêm yết phí ${next()}`, createdBy: 'test' }))._id.toHexString()}`,
    }),
  },
  'procedures.list': { request: () => ({ method: 'GET', path: '/procedures' }) },
  'users.list': { request: () => ({ method: 'GET', path: '/users' }), marker: (u) => `"target.${slug(u)}"` },
  'users.create': {
    request: (u) => ({
      method: 'POST',
      path: '/users',
      body: { username: `moi.${next()}`, password: GOOD_PASSWORD, role: 'viewer', unitCodes: [u] },
    }),
  },
  'users.get': { request: (u) => ({ method: 'GET', path: `/users/target.${slug(u)}` }) },
  'users.update': {
    request: (u) => ({ method: 'PATCH', path: `/users/target.${slug(u)}`, body: { unitCodes: [u] } }),
  },
  'users.resetPassword': {
    request: (u) => ({
      method: 'POST',
      path: `/users/target.${slug(u)}/reset-password`,
      body: { password: `${GOOD_PASSWORD} số ${next()}` },
    }),
  },
  'apiKeys.list': { request: () => ({ method: 'GET', path: '/api-keys' }), marker: (u) => `"Key ${u}"` },
  'apiKeys.create': {
    request: (u) => ({ method: 'POST', path: '/api-keys', body: { name: `Khoá ${next()}`, unitCodes: [u] } }),
  },
  'apiKeys.revoke': {
    request: async (u) => ({
      method: 'DELETE',
      path: `/api-keys/${(await createApiKey({ name: `Thu hồi ${next()}`, unitCodes: [u] })).keyId}`,
    }),
  },
  'audit.list': {
    request: () => ({ method: 'GET', path: '/audit', query: { limit: '500' } }),
    marker: (u) => `"unitCode":"${u}"`,
  },
  'audit.export': { request: () => ({ method: 'GET', path: '/audit/export' }), marker: (u) => `,${u},` },
  'audit.verify': { request: () => ({ method: 'GET', path: '/audit/verify' }) },
  'platforms.state': { request: () => ({ method: 'GET', path: '/platforms' }) },
  'openapi.get': { request: () => ({ method: 'GET', path: '/openapi.json' }) },
  'flows.list': { request: () => ({ method: 'GET', path: '/flows' }) },
  'flows.getVersion': {
    request: () => ({ method: 'GET', path: `/flows/default/versions/${defaultFlow.version}` }),
  },
  'flows.diff': {
    request: () => ({ method: 'GET', path: '/flows/default/diff', query: { from: '1', to: '2' } }),
  },
  'flows.export': {
    request: () => ({ method: 'GET', path: `/flows/default/versions/${defaultFlow.version}/export` }),
  },
  'flows.import': {
    request: (u) => ({
      method: 'POST',
      path: '/flows/import',
      body: { unitCode: u, document: { format: 'hailong.flow', formatVersion: 1, flow: matrixFlow() } },
    }),
  },
  'flows.live': { request: (u) => ({ method: 'GET', path: '/flows/live', query: { unitCode: u } }) },
  'flows.assignments': {
    request: () => ({ method: 'GET', path: '/flows/assignments' }),
    marker: (u) => `"unitCode":"${u}"`,
  },
  'flows.assign': {
    request: (u) => ({
      method: 'PUT',
      path: '/flows/assignments',
      body: { unitCode: u, procedureCode: null, flowKey: 'default', version: defaultFlow.version },
    }),
  },
  'flows.unassign': {
    request: async (u) => {
      await assign({ unitCode: u, procedureCode: 'matrix.del', flowKey: 'default', version: 1 }, 'test');
      return {
        method: 'DELETE',
        path: '/flows/assignments',
        query: { unitCode: u, procedureCode: 'matrix.del' },
      };
    },
  },
  'flowDrafts.list': {
    request: () => ({ method: 'GET', path: '/flow-drafts' }),
    marker: (u) => `"unitCode":"${u}"`,
  },
  'flowDrafts.get': { request: async (u) => ({ method: 'GET', path: `/flow-drafts/${await draftOf(u)}` }) },
  'flowDrafts.create': {
    request: (u) => ({
      method: 'POST',
      path: '/flow-drafts',
      body: { key: 'matrix', unitCode: u, definition: matrixFlow() },
    }),
  },
  'flowDrafts.update': {
    request: async (u) => ({
      method: 'PUT',
      path: `/flow-drafts/${await draftOf(u)}`,
      body: { rev: 0, definition: matrixFlow() },
    }),
  },
  'flowDrafts.delete': {
    request: async (u) => ({ method: 'DELETE', path: `/flow-drafts/${await draftOf(u)}` }),
  },
  'flowDrafts.validate': {
    request: async (u) => ({ method: 'POST', path: `/flow-drafts/${await draftOf(u)}/validate` }),
  },
  'flowDrafts.publish': {
    request: async (u) => ({
      method: 'POST',
      path: `/flow-drafts/${await draftOf(u)}/publish`,
      body: { rev: 0 },
    }),
  },
  'preview.start': {
    request: async (u) => ({ method: 'POST', path: '/previews', body: { draftId: await draftOf(u) } }),
  },
  'preview.get': { request: async (u) => ({ method: 'GET', path: `/previews/${await previewOf(u)}` }) },
  'preview.send': {
    request: async (u) => ({
      method: 'POST',
      path: `/previews/${await previewOf(u)}/inputs`,
      body: { input: { kind: 'text', text: '1' } },
    }),
  },
  'dossiers.get': { request: async (u) => ({ method: 'GET', path: `/dossiers/${await makeDossier(u)}` }) },
  'responses.list': { request: (u) => ({ method: 'GET', path: '/responses', query: { unit: u } }) },
  'responses.csv': { request: (u) => ({ method: 'GET', path: '/responses/export.csv', query: { unit: u } }) },
  'responses.xlsx': {
    request: (u) => ({ method: 'GET', path: '/responses/export.xlsx', query: { unit: u } }),
  },
  'indices.get': { request: (u) => ({ method: 'GET', path: '/indices', query: { unit: u, period: YEAR } }) },
  'indices.ranking': {
    request: (u) => ({ method: 'GET', path: '/indices/ranking', query: { unit: u, period: YEAR } }),
  },
  'cases.list': { request: (u) => ({ method: 'GET', path: '/cases', query: { unit: u } }) },
  'cases.get': { request: async (u) => ({ method: 'GET', path: `/cases/${await makeCase(u)}` }) },
  'cases.assign': {
    request: async (u) => ({
      method: 'POST',
      path: `/cases/${await makeCase(u)}/assign`,
      body: { username: 'matrix.admin' },
    }),
  },
  'cases.note': {
    request: async (u) => ({
      method: 'POST',
      path: `/cases/${await makeCase(u)}/notes`,
      body: { text: 'Đã gọi lại' },
    }),
  },
  'cases.close': {
    request: async (u) => ({
      method: 'POST',
      path: `/cases/${await makeCase(u)}/close`,
      body: { resolution: 'khac-phuc' },
    }),
  },
  'cases.followUp': {
    request: async (u) => ({
      method: 'POST',
      path: `/cases/${await makeCase(u)}/follow-up`,
      body: { text: 'Xin cảm ơn Quý ông/bà' },
    }),
  },
  'broadcasts.list': {
    request: async () => {
      await broadcastFixtures();
      return { method: 'GET', path: '/broadcasts' };
    },
    marker: (u) => `"text":"Thông báo cho ${u}"`,
  },
  'broadcasts.count': {
    request: (u) => ({ method: 'POST', path: '/broadcasts/count', body: { unitCode: u } }),
  },
  'broadcasts.preview': {
    request: () => ({ method: 'POST', path: '/broadcasts/preview', body: { text: `Tin ${next()}` } }),
  },
  'broadcasts.create': {
    request: (u) => ({ method: 'POST', path: '/broadcasts', body: { text: `Tin ${next()}`, unitCode: u } }),
  },
  'broadcasts.schedule': {
    request: async (u) => ({
      method: 'POST',
      path: `/broadcasts/${await makeBroadcast(u)}/schedule`,
      body: { sendAt: new Date(Date.now() + 86_400_000).toISOString() },
    }),
  },
  'broadcasts.test': {
    request: async (u) => ({ method: 'POST', path: `/broadcasts/${await makeBroadcast(u)}/test`, body: {} }),
    // The matrix's accounts link no chat (api-broadcasts.test.ts sends one through the fake Telegram).
    allowed: 409,
  },
  'broadcasts.get': {
    request: async (u) => ({ method: 'GET', path: `/broadcasts/${await makeBroadcast(u)}` }),
  },
  'broadcasts.approve': {
    request: async (u) => ({ method: 'POST', path: `/broadcasts/${await makeBroadcast(u)}/approve` }),
  },
  'broadcasts.pause': {
    request: async (u) => ({
      method: 'POST',
      path: `/broadcasts/${await makeBroadcast(u, { status: 'sending' })}/pause`,
    }),
  },
  'broadcasts.resume': {
    request: async (u) => ({
      method: 'POST',
      path: `/broadcasts/${await makeBroadcast(u, { status: 'paused' })}/resume`,
    }),
  },
  'broadcasts.cancel': {
    request: async (u) => ({ method: 'POST', path: `/broadcasts/${await makeBroadcast(u)}/cancel` }),
  },
  'broadcasts.stream': {
    request: async (u) => ({
      method: 'GET',
      path: `/broadcasts/${await makeBroadcast(u, { status: 'completed' })}/stream`,
    }),
  },
  'broadcasts.report': {
    request: async (u) => ({
      method: 'GET',
      path: `/broadcasts/${await makeBroadcast(u, { status: 'completed' })}/report`,
    }),
  },
  'flags.list': {
    request: (u) => ({
      method: 'GET',
      path: '/flags',
      query: { unit: u, from: '2025-01-01', to: '2030-12-31' },
    }),
  },
  'flags.exclude': {
    request: async (u) => ({
      method: 'POST',
      path: `/flags/${await makeFlag(u)}/exclude`,
      body: { reason: 'Cán bộ tự điền thay công dân' },
    }),
  },
  'reports.csv': {
    request: (u) => ({ method: 'GET', path: '/reports/export.csv', query: { unit: u, period: YEAR } }),
  },
  'reports.xlsx': {
    request: (u) => ({ method: 'GET', path: '/reports/export.xlsx', query: { unit: u, period: YEAR } }),
  },
};

/** The default flow under the matrix's own key, so publishing its drafts leaves `default` alone. */
const matrixFlow = () => ({ ...defaultFlow, key: 'matrix' }) as unknown as Record<string, unknown>;
/** A fresh valid draft of `unit`. */
async function draftOf(unit: string): Promise<string> {
  const d = await createDraft({
    key: 'matrix',
    unitCode: unit,
    definition: matrixFlow(),
    baseVersion: null,
    by: 'test',
  });
  return d.id;
}
/** A fresh preview of a draft of `unit`. */
async function previewOf(unit: string): Promise<string> {
  const store = new PreviewStore(t.app.ctx.redis, t.app.ctx.prefix);
  const { preview } = await store.start({
    draftId: await draftOf(unit),
    unitCode: unit,
    by: 'test',
    flow: { ...defaultFlow, key: 'matrix' },
    lang: 'vi',
    channel: 'telegram',
  });
  return preview.id;
}

async function clientFor(role: MatrixRole): Promise<ApiClient> {
  if (role === 'anonymous') return new ApiClient(t.baseUrl);
  if (role === 'key') return new ApiClient(t.baseUrl, keyForMatrix);
  let c = clients.get(role);
  if (!c?.cookie) {
    c = new ApiClient(t.baseUrl);
    const r = await c.login(`matrix.${role}`, passwords.get(role) ?? GOOD_PASSWORD);
    if (r.status !== 200) throw new Error(`matrix login of ${role}: ${r.status} ${r.text}`);
    clients.set(role, c);
  }
  return c;
}

/** What the route's declaration says this caller gets: a status, and for lists whether out-of-scope data may show. */
function expectation(r: ApiRoute, role: MatrixRole, variant: 'in' | 'out'): number {
  const success = SAMPLES[r.id]?.allowed ?? r.status ?? 200;
  if (r.auth === 'public') return success;
  if (role === 'anonymous') return 401;
  if (r.auth === 'user' && role === 'key') return 403;
  if (r.permission && !can(role, r.permission)) return 403;
  if (variant === 'out' && (r.scope.kind === 'unit' || r.scope.kind === 'object') && role !== 'admin')
    return 404;
  return success;
}

function variants(r: ApiRoute): Array<'in' | 'out'> {
  return r.scope.kind === 'none' || r.scope.kind === 'global' || r.scope.kind === 'list'
    ? ['in']
    : ['in', 'out'];
}

function conforms(r: ApiRoute, res: ApiResponse): void {
  const problems = contract.check(
    r.method,
    API_PREFIX + r.path,
    res.status,
    res.headers.get('content-type'),
    res.status === 204 ? res.text : res.body,
  );
  expect(problems).toEqual([]);
}

beforeAll(async () => {
  t = await startTestApp(
    'apimatrix',
    { AUTH_LOGIN_MAX_FAILS_PER_IP: '100000', AUTH_LOGIN_MAX_FAILS_PER_USER: '100000' },
    ['http'],
  );
  await seedUnits();
  await Procedure.create({ code: '1.001234', name: 'Đăng ký khai sinh', field: 'Hộ tịch' });
  for (const role of ['admin', 'district', 'unit', 'broadcaster', 'viewer'] as const)
    await createUser(t, `matrix.${role}`, role, role === 'admin' ? [] : UNITS_OF[role]);
  await createUser(t, 'login.matrix', 'viewer', ['19870']);
  for (const u of FIXTURE_UNITS) {
    await createUser(t, `target.${slug(u)}`, 'viewer', [u]);
    await createApiKey({ name: `Key ${u}`, unitCodes: [u] });
    await ActionNote.create({
      unitCode: u,
      element: 'KET_QUA',
      date: '2026-09-01',
      text: `Trả kết quả đúng hẹn ${u}`,
      createdBy: 'test',
    });
    await appendAudit({
      actor: 'test',
      action: 'test.fixture',
      targetType: 'test',
      targetId: u,
      unitCode: u,
    });
  }
  for (const f of DEFAULT_FLOW_VERSIONS) await new FlowRepository().ensure(f);
  for (const u of FIXTURE_UNITS) {
    await assign(
      { unitCode: u, procedureCode: null, flowKey: 'default', version: defaultFlow.version },
      'test',
    );
    await draftOf(u);
  }
  keyForMatrix = (await createApiKey({ name: 'Matrix key', unitCodes: UNITS_OF.key })).key;
  contract = await OpenApiContract.load(t.baseUrl);
}, 120_000);
afterAll(async () => {
  await t.stop();
});

test('every route of the table has a matrix sample (a new route must come with one)', () => {
  const missing = API_ROUTES.map((r) => r.id).filter((id) => !SAMPLES[id]);
  expect(missing).toEqual([]);
  expect(Object.keys(SAMPLES).filter((id) => !API_ROUTES.some((r) => r.id === id))).toEqual([]);
});

describe.each(API_ROUTES.map((r) => [r.id, r] as const))('%s', (_id, route) => {
  test.each(ROLES)(
    'as %s: the answer its permission and scope rule give, inside and outside the scope',
    async (role) => {
      const sample = SAMPLES[route.id];
      if (!sample) throw new Error(`no matrix sample for ${route.id}`);
      for (const variant of variants(route)) {
        const unit = variant === 'in' ? IN : outOf(role);
        const client = await clientFor(role);
        const req = await sample.request(unit, role);
        const res = await client.request(req.method, API_PREFIX + req.path, {
          ...(req.body !== undefined ? { body: req.body } : {}),
          ...(req.query ? { query: req.query } : {}),
        });
        const want = expectation(route, role, variant);
        if (res.status !== want)
          throw new Error(
            `${route.id} as ${role} (${variant}, unit ${unit}): ${res.status} ${res.text.slice(0, 300)}; expected ${want}`,
          );
        conforms(route, res);
        if (res.status < 300) sample.after?.(role, req);
        if (route.id === 'auth.logout') clients.delete(role);
        if (sample.marker && res.status === 200) {
          const text = res.text;
          // The caller's own unit's data is there; a unit outside its scope never is (an admin sees both).
          expect(text).toContain(sample.marker(IN));
          if (role === 'admin') expect(text).toContain(sample.marker(outOf(role)));
          else expect(text).not.toContain(sample.marker(outOf(role)));
        }
      }
    },
  );
});
