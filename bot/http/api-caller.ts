import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../lib/app-context';
import { authenticate, type AuthenticatedKey } from '../../lib/api-auth';
import { expandUnits } from '../../indices/units';
import type { KeyBudget } from './rate-limit';

export interface ApiCaller {
  key: AuthenticatedKey;
  /**
   * The units the key may read and write: its units, the units below them (parentCode) and the
   * units merged into them (successorCode), recursively; null for an unscoped key (every unit).
   */
  units: string[] | null;
}

/**
 * The caller of an API route: its key authenticated (401 otherwise) and counted against the key's
 * budget (429 when over it). Undefined when a refusal was sent.
 */
export async function apiCaller(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: { ctx: AppContext; now: () => Date; budget: KeyBudget },
): Promise<ApiCaller | undefined> {
  const { ctx } = deps;
  const auth = await authenticate(req.headers, req.rawBody, {
    redis: ctx.redis,
    prefix: ctx.prefix,
    ...(ctx.env.SECRETS_KEY ? { secretsKey: ctx.env.SECRETS_KEY } : {}),
    ...(ctx.env.SECRETS_KEY_PREVIOUS ? { secretsKeyPrevious: ctx.env.SECRETS_KEY_PREVIOUS } : {}),
    now: deps.now,
  });
  if (!auth.ok) {
    req.log.info({ route: req.routeOptions.url, reason: auth.reason }, 'api request refused: authentication');
    await reply
      .status(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: 'unauthorized', message: auth.reason });
    return undefined;
  }
  if (await req.server.limitApiKey(req, reply, deps.budget, auth.key.keyId)) return undefined;
  return {
    key: auth.key,
    units: auth.key.unitCodes.length === 0 ? null : await expandUnits(auth.key.unitCodes),
  };
}
