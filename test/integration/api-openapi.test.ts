import { validate, compileErrors } from '@readme/openapi-parser';
import type { OpenAPIV3_1 } from 'openapi-types';
import { API_PREFIX } from '../../bot/http/api/register';
import { API_ROUTES } from '../../bot/http/api/routes';
import { startTestApp, type TestApp } from '../support/app';
import { OpenApiContract } from '../support/openapi-contract';

let t: TestApp;
let doc: OpenAPIV3_1.Document;

beforeAll(async () => {
  t = await startTestApp('apiopenapi', {}, ['http']);
  const res = await fetch(`${t.baseUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as OpenAPIV3_1.Document;
});
afterAll(async () => {
  await t.stop();
});

test('the document is valid OpenAPI 3.1 (checked by an OpenAPI parser)', async () => {
  expect(doc.openapi).toBe('3.1.0');
  const result = await validate(structuredClone(doc) as never);
  if (!result.valid) throw new Error(compileErrors(result));
  expect(result.valid).toBe(true);
});

test('it lists every route of the table, with its operation id, permission, scope and security', () => {
  const listed = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item ?? {}).map((method) => `${method.toUpperCase()} ${path}`),
  );
  const table = API_ROUTES.map((r) => `${r.method} ${OpenApiContract.openapiPath(API_PREFIX + r.path)}`);
  expect(listed.sort()).toEqual(table.sort());
  for (const r of API_ROUTES) {
    const op = (
      doc.paths?.[OpenApiContract.openapiPath(API_PREFIX + r.path)] as Record<
        string,
        OpenAPIV3_1.OperationObject & Record<string, unknown>
      >
    )[r.method.toLowerCase()]!;
    expect(op.operationId).toBe(r.id);
    expect(op['x-permission']).toBe(r.permission ?? 'none');
    expect(op['x-scope']).toBe(r.scope.kind);
    expect(op.security).toEqual(
      r.auth === 'public' ? [] : expect.arrayContaining([expect.objectContaining({ session: [] })]),
    );
    expect(op.responses?.['500']).toBeDefined();
    if (r.auth !== 'public')
      expect(Object.keys(op.responses ?? {})).toEqual(expect.arrayContaining(['401', '403']));
  }
  expect(Object.keys(doc.components?.schemas ?? {})).toEqual(
    expect.arrayContaining(['Error', 'User', 'Unit', 'AuditEntry', 'Me']),
  );
});

test('the reference page is served from this server: no third-party script, style or font', async () => {
  const page = await fetch(`${t.baseUrl}/api/docs/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('swagger-ui');
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toMatch(/https?:/);
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  expect(refs.length).toBeGreaterThan(0);
  for (const ref of refs) expect(ref).not.toMatch(/^(https?:)?\/\//);
  const init = await fetch(`${t.baseUrl}/api/docs/static/swagger-initializer.js`);
  expect(init.status).toBe(200);
  expect(await init.text()).toContain('validatorUrl: null');
});
