import { z } from 'zod';
import { platformLine, readPlatformSuccess, zaloTokenState } from '../../../../lib/platform-health';
import { defineRoute } from '../route';
import { isoDate } from '../schemas';

const platformBody = z.object({
  configured: z.boolean().describe('this server has the platform’s credentials'),
  lastSuccessAt: isoDate.nullable().describe('the last successful call by any process'),
  lastSuccessAgoS: z.number().int().nullable(),
});

const zaloTokenBody = z
  .object({
    known: z.boolean().describe('false: the database did not answer'),
    connected: z.boolean().optional().describe('the OA is connected (a token pair is stored)'),
    expiresAt: isoDate.nullable().optional(),
    expiresInS: z.number().int().optional().describe('negative: expired'),
    refreshedAt: isoDate.nullable().optional(),
    refreshFailed: z.boolean().optional().describe('the last refresh failed: reconnect the OA'),
  })
  .nullable()
  .describe('null: no Zalo app configured');

export const platformRoutes = [
  defineRoute({
    id: 'platforms.state',
    method: 'GET',
    path: '/platforms',
    tag: 'platforms',
    summary:
      'Kết nối nền tảng / the Telegram and Zalo connections: configured, last successful call, Zalo token expiry',
    description:
      'What /healthz/detail tells operators, for the console’s admins: times and flags only, never a token ' +
      'or secret. Last successes are copied to Redis by every process every 15 s.',
    auth: 'user',
    permission: 'platforms:read',
    scope: { kind: 'global', why: 'the server’s platform connections belong to no unit' },
    response: z.object({
      checkedAt: isoDate,
      telegram: platformBody,
      zalo: platformBody.extend({ token: zaloTokenBody }),
    }),
    handler: async ({ deps }) => {
      const { env, redis, prefix } = deps.ctx;
      const now = Date.now();
      const [last, token] = await Promise.all([
        readPlatformSuccess(redis, prefix).catch(() => null),
        zaloTokenState(env.ZALO_APP_ID, now),
      ]);
      return {
        checkedAt: new Date(now).toISOString(),
        telegram: platformLine(Boolean(env.TELEGRAM_BOT_TOKEN), last?.telegram, now),
        zalo: { ...platformLine(Boolean(env.ZALO_APP_ID), last?.zalo, now), token },
      };
    },
  }),
];
