import type { RedisClient } from '../../../lib/redis';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from '../../../lib/logger';
import { takeZaloVerifier } from './connect';
import type { ZaloOAuthClient } from './oauth';
import type { ZaloTokenStore } from './token-store';

/**
 * GET /oauth/zalo/callback?code&oa_id&state: where Zalo sends the OA admin after granting the
 * app. Exchanges the code (with the PKCE verifier of `state`) and stores the pair encrypted.
 * The page is for an official: Vietnamese first.
 */
export function zaloOAuthRoute(opts: {
  redis: RedisClient;
  prefix: string;
  oauth: Pick<ZaloOAuthClient, 'exchangeCode'>;
  tokens: Pick<ZaloTokenStore, 'save'>;
  log: Logger;
}): FastifyPluginAsync {
  return async (app) => {
    app.get('/oauth/zalo/callback', async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const code = q.code;
      const state = q.state ?? '';
      const verifier = code ? await takeZaloVerifier(opts.redis, opts.prefix, state) : null;
      if (!code || !verifier) {
        return reply
          .status(400)
          .type('text/plain; charset=utf-8')
          .send(
            'Liên kết không hợp lệ hoặc đã hết hạn (10 phút). Chạy lại `hailong zalo connect`.\nInvalid or expired link: run `hailong zalo connect` again.',
          );
      }
      try {
        const pair = await opts.oauth.exchangeCode(code, verifier);
        await opts.tokens.save(pair, q.oa_id ?? null);
      } catch (err) {
        opts.log.error({ err: (err as Error).message }, 'zalo OAuth code exchange failed');
        return reply
          .status(502)
          .type('text/plain; charset=utf-8')
          .send(
            'Zalo từ chối mã cấp quyền. Chạy lại `hailong zalo connect`.\nZalo refused the code: run `hailong zalo connect` again.',
          );
      }
      opts.log.info({ oaId: q.oa_id ?? null }, 'zalo OA connected');
      return reply
        .type('text/plain; charset=utf-8')
        .send('Đã kết nối Zalo OA. Có thể đóng trang này.\nZalo OA connected. You may close this page.');
    });
  };
}
