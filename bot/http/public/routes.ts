import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Env } from '../../../config/env';
import { TtlCache } from './cache';
import { resultsCsv } from './open-data';
import { unitListing, unitResults, type UnitListing, type UnitResults } from './published';
import { embedPage, listingPage, notFoundPage, STYLE_HASH, unitPage } from './render';

export interface PublicResultsDeps {
  env: Pick<Env, 'PUBLIC_URL' | 'PUBLIC_MIN_N' | 'PUBLIC_CACHE_S'>;
  now?: () => Date;
}

const UNIT_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The public results (no sign-in): /ket-qua (the units), /ket-qua/<unit> (a unit's page),
 * /ket-qua/<unit>/embed (the same for an iframe on a commune's website) and the open data
 * /ket-qua/<unit>.json and .csv. Served from the rollups through a short in-process cache; no
 * cookie is read or set; every answer carries a CSP that allows nothing but the page's own
 * inline style sheet (docs/public-results.md).
 */
export function publicResultsRoutes(deps: PublicResultsDeps): FastifyPluginAsync {
  const now = deps.now ?? (() => new Date());
  const cache = new TtlCache(deps.env.PUBLIC_CACHE_S * 1000);
  const base = deps.env.PUBLIC_URL.replace(/\/+$/, '');
  const https = base.startsWith('https:');
  const maxAge = Math.min(deps.env.PUBLIC_CACHE_S, 300);

  function headers(reply: FastifyReply, o: { frameable: boolean; data?: boolean }): void {
    const csp = o.data
      ? "default-src 'none'; frame-ancestors 'none'"
      : `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors ${o.frameable ? '*' : "'none'"}`;
    void reply.headers({
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': `public, max-age=${maxAge}`,
      ...(o.frameable ? {} : { 'x-frame-options': 'DENY' }),
      ...(o.data ? { 'access-control-allow-origin': '*' } : {}),
      ...(https ? { 'strict-transport-security': 'max-age=31536000' } : {}),
    });
  }

  const results = (code: string): Promise<UnitResults | null> =>
    cache.get(`unit:${code}`, () => unitResults(code, { minN: deps.env.PUBLIC_MIN_N, now: now() }));

  function missing(reply: FastifyReply, what: 'page' | 'data') {
    headers(reply, { frameable: false, data: what === 'data' });
    if (what === 'data')
      return reply.status(404).send({ error: 'not_found', message: 'Không có đơn vị này. / No such unit.' });
    return reply.status(404).type('text/html; charset=utf-8').send(notFoundPage());
  }

  return async (app) => {
    app.get('/ket-qua', async (_req, reply) => {
      const listing = await cache.get<UnitListing>('listing', () => unitListing(now()));
      headers(reply, { frameable: false });
      return reply.type('text/html; charset=utf-8').send(listingPage(listing));
    });

    app.get<{ Params: { unit: string } }>('/ket-qua/:unit', async (req, reply) => {
      const m = /^(.*?)(?:\.(json|csv))?$/.exec(req.params.unit)!;
      const [, code, ext] = m;
      const what = ext ? 'data' : 'page';
      if (!UNIT_RE.test(code!)) return missing(reply, what);
      const r = await results(code!);
      if (!r) return missing(reply, what);
      headers(reply, { frameable: false, data: what === 'data' });
      if (ext === 'json') return reply.type('application/json; charset=utf-8').send(r);
      if (ext === 'csv') {
        const file = `ket-qua-${code!.replace(/[^A-Za-z0-9_-]/g, '_')}.csv`;
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${file}"`)
          .send(resultsCsv(r));
      }
      return reply.type('text/html; charset=utf-8').send(unitPage(r, new Date(r.generatedAt), base));
    });

    app.get<{ Params: { unit: string } }>('/ket-qua/:unit/embed', async (req, reply) => {
      const code = req.params.unit;
      const r = UNIT_RE.test(code) ? await results(code) : null;
      if (!r) return missing(reply, 'page');
      headers(reply, { frameable: true });
      return reply.type('text/html; charset=utf-8').send(embedPage(r, base));
    });
    return Promise.resolve();
  };
}
