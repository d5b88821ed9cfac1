import { z } from 'zod';
import { createApiKey, revokeApiKey } from '../../../../lib/api-auth';
import { ApiKey, type ApiKeyDoc } from '../../../../models/api-key';
import { Unit } from '../../../../models/unit';
import { invalid, notFound } from '../errors';
import { defineRoute } from '../route';
import { iso, isoDate, noContent, unitCode } from '../schemas';

const keyBody = z
  .object({
    keyId: z.string(),
    name: z.string(),
    unitCodes: z.array(unitCode).describe('empty: every unit'),
    hmac: z.boolean().describe('has an HMAC signing secret'),
    createdBy: z.string(),
    createdAt: isoDate.nullable(),
    lastUsedAt: isoDate.nullable(),
    revokedAt: isoDate.nullable(),
  })
  .meta({ id: 'ApiKey' });

const keyOut = (k: ApiKeyDoc & { createdAt?: Date }): z.output<typeof keyBody> => ({
  keyId: k.keyId,
  name: k.name,
  unitCodes: [...k.unitCodes],
  hmac: k.signingSecretEnc !== null && k.signingSecretEnc !== undefined,
  createdBy: k.createdBy,
  createdAt: iso(k.createdAt),
  lastUsedAt: iso(k.lastUsedAt),
  revokedAt: iso(k.revokedAt),
});

const ADMIN = { auth: 'user', permission: 'keys:manage', tag: 'api-keys' } as const;

export const apiKeyRoutes = [
  defineRoute({
    ...ADMIN,
    id: 'apiKeys.list',
    method: 'GET',
    path: '/api-keys',
    summary: 'Khoá API / API keys of one-stop systems (never the keys themselves)',
    scope: { kind: 'list' },
    response: z.object({ keys: z.array(keyBody) }),
    handler: async ({ scope }) => {
      // Asked before the loop: with no key at all the scope is still consulted (else a 500).
      const everyUnit = (await scope.units()) === null;
      const keys = await ApiKey.find({}).sort({ createdAt: 1 }).lean();
      const visible = [];
      for (const k of keys) if (everyUnit || (await scope.allowsAll(k.unitCodes))) visible.push(keyOut(k));
      return { keys: visible };
    },
  }),

  defineRoute({
    ...ADMIN,
    id: 'apiKeys.create',
    method: 'POST',
    path: '/api-keys',
    summary: 'Tạo khoá API / create a key: shown once in this answer',
    scope: { kind: 'object' },
    status: 201,
    body: z.object({
      name: z.string().trim().min(1).max(200),
      unitCodes: z
        .array(unitCode)
        .max(50)
        .default([])
        .describe('limit the key to these units and below; empty: every unit'),
      hmac: z.boolean().default(false).describe('also create a signing secret (needs SECRETS_KEY)'),
    }),
    response: keyBody.extend({
      key: z.string().describe('shown once: only its hash is stored'),
      signingSecret: z.string().nullable().describe('shown once'),
    }),
    handler: async ({ body, scope, caller, ip, deps }) => {
      await scope.require(body.unitCodes);
      const known = await Unit.find({ code: { $in: body.unitCodes } }, { code: 1 }).lean();
      const missing = body.unitCodes.filter((c) => !known.some((k) => k.code === c));
      if (missing.length > 0)
        throw invalid([
          { path: 'unitCodes', in: 'body', message: `unknown unit code(s): ${missing.join(', ')}` },
        ]);
      if (body.hmac && !deps.ctx.env.SECRETS_KEY)
        throw invalid([
          { path: 'hmac', in: 'body', message: 'HMAC signing needs SECRETS_KEY on the server' },
        ]);
      const created = await createApiKey({
        name: body.name,
        unitCodes: body.unitCodes,
        signing: body.hmac,
        ...(deps.ctx.env.SECRETS_KEY ? { secretsKey: deps.ctx.env.SECRETS_KEY } : {}),
        createdBy: caller.actor,
        ip,
      });
      const doc = await ApiKey.findOne({ keyId: created.keyId }).lean();
      if (!doc) throw notFound();
      return { ...keyOut(doc), key: created.key, signingSecret: created.signingSecret };
    },
  }),

  defineRoute({
    ...ADMIN,
    id: 'apiKeys.revoke',
    method: 'DELETE',
    path: '/api-keys/:keyId',
    summary: 'Thu hồi khoá / revoke a key',
    scope: { kind: 'object' },
    status: 204,
    params: z.object({
      keyId: z.string().regex(/^[a-f0-9]{12}$/, 'expected the 12 hex characters of a key id'),
    }),
    response: noContent,
    handler: async ({ params, scope, caller, ip }) => {
      const doc = await ApiKey.findOne({ keyId: params.keyId }).lean();
      if (!doc || !(await scope.allowsAll(doc.unitCodes)) || doc.revokedAt) throw notFound();
      await revokeApiKey(params.keyId, new Date(), { actor: caller.actor, ip });
      return undefined;
    },
  }),
];
