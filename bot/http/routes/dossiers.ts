import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../app/context';
import { authenticate, unitInScope } from '../../../lib/api-auth';
import { parseDossierEvent, type ParsedEvent } from '../../survey/dossier-event';
import { ingestDossierEvent, type OutreachScheduler } from '../../survey/dossier-ingest';
import { parseDvcEvent } from '../../survey/dvc-event';

export interface DossierRoutesDeps {
  ctx: AppContext;
  /** Proactive invitation, reminders and expiry (workers/jobs/invitation-queue.ts); none: links only. */
  outreach?: OutreachScheduler;
  now?: () => Date;
}

/**
 * POST /api/v1/dossiers (our shape) and /api/v1/dossiers/dvc (national portal sync shape).
 * 401 bad credentials, 400 not a JSON object, 422 wrong fields (each with its path), 403 unit
 * outside the key's scope, 201 a new dossier, 200 a repeat or an update. Docs: docs/dossier-api.md.
 */
export function dossierRoutes(deps: DossierRoutesDeps): FastifyPluginAsync {
  const { ctx } = deps;
  const now = deps.now ?? (() => new Date());

  async function handle(
    req: FastifyRequest,
    reply: FastifyReply,
    parse: (b: unknown) => ParsedEvent,
  ): Promise<void> {
    const auth = await authenticate(req.headers, req.rawBody, {
      redis: ctx.redis,
      prefix: ctx.prefix,
      ...(ctx.env.SECRETS_KEY ? { secretsKey: ctx.env.SECRETS_KEY } : {}),
      now,
    });
    if (!auth.ok) {
      ctx.log.info(
        { route: req.routeOptions.url, reason: auth.reason },
        'dossier event refused: authentication',
      );
      await reply
        .status(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: auth.reason });
      return;
    }
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      await reply.status(400).send({ error: 'bad_request', message: 'expected a JSON object' });
      return;
    }
    const parsed = parse(body);
    if (!parsed.ok) {
      await reply.status(422).send({ error: 'invalid_event', issues: parsed.issues });
      return;
    }
    const event = parsed.event;
    if (!(await unitInScope(event.unitCode, auth.key.unitCodes))) {
      ctx.log.info(
        { keyId: auth.key.keyId, unit: event.unitCode },
        'dossier event refused: unit outside the key scope',
      );
      await reply
        .status(403)
        .send({ error: 'forbidden', message: `this key may not post events of unit ${event.unitCode}` });
      return;
    }
    const result = await ingestDossierEvent(event, {
      env: ctx.env,
      ...(deps.outreach ? { outreach: deps.outreach } : {}),
      now: now(),
      source: `api:${auth.key.keyId}`,
    });
    if (!result.ok) {
      await reply.status(422).send({ error: 'invalid_event', issues: result.issues });
      return;
    }
    ctx.log.info(
      { keyId: auth.key.keyId, dossier: result.code, status: result.status, created: result.created },
      'dossier event stored',
    );
    await reply
      .status(result.created ? 201 : 200)
      .send({ code: result.code, status: result.status, created: result.created, survey: result.survey });
  }

  return (app) => {
    app.post('/api/v1/dossiers', (req, reply) => handle(req, reply, parseDossierEvent));
    app.post('/api/v1/dossiers/dvc', (req, reply) => handle(req, reply, parseDvcEvent));
    return Promise.resolve();
  };
}
