import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../../lib/app-context';
import { parseDossierEvent, type ParsedEvent } from '../../survey/dossier-event';
import { ingestDossierEvent, type IngestRefusal, type OutreachScheduler } from '../../survey/dossier-ingest';
import { parseDvcEvent } from '../../survey/dvc-event';
import { apiCaller } from '../api-caller';
import { scheduleDeps } from '../api/producers';

export interface DossierRoutesDeps {
  ctx: AppContext;
  /** Proactive invitation, reminders and expiry (workers/jobs/invitation-queue.ts); none: links only. */
  outreach?: OutreachScheduler;
  now?: () => Date;
}

const REFUSED: Record<IngestRefusal, { status: number; error: string }> = {
  invalid: { status: 422, error: 'invalid_event' },
  forbidden: { status: 403, error: 'forbidden' },
  // An object outside the caller's units answers 404: nothing about it (its unit, its token).
  elsewhere: { status: 404, error: 'not_found' },
};

/**
 * POST /api/v1/dossiers (our shape) and /api/v1/dossiers/dvc (national portal sync shape).
 * 401 bad credentials, 429 over a budget, 400 not a JSON object, 422 wrong fields (each with its
 * path) or a unit that had ended without one successor, 403 unit outside the key's units, 404 a
 * code that belongs to a dossier outside them, 201 a new dossier, 200 a repeat or an update.
 * Docs: docs/dossier-api.md.
 */
export function dossierRoutes(deps: DossierRoutesDeps): FastifyPluginAsync {
  const { ctx } = deps;
  const now = deps.now ?? (() => new Date());

  async function handle(
    req: FastifyRequest,
    reply: FastifyReply,
    parse: (b: unknown) => ParsedEvent,
  ): Promise<void> {
    const caller = await apiCaller(req, reply, { ctx, now, budget: 'dossiers' });
    if (!caller) return;
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
    const result = await ingestDossierEvent(event, {
      env: ctx.env,
      ...(deps.outreach ? { outreach: deps.outreach } : {}),
      now: now(),
      source: `api:${caller.key.keyId}`,
      units: caller.units,
      rollups: scheduleDeps(ctx),
    });
    if (!result.ok) {
      const refused = REFUSED[result.reason];
      req.log.info(
        { keyId: caller.key.keyId, dossier: event.code, unit: event.unitCode, refusal: result.reason },
        'dossier event refused',
      );
      const issue = result.issues[0];
      await reply
        .status(refused.status)
        .send(
          result.reason === 'invalid'
            ? { error: refused.error, issues: result.issues }
            : { error: refused.error, message: issue?.message ?? refused.error },
        );
      return;
    }
    req.log.info(
      {
        keyId: caller.key.keyId,
        dossier: result.code,
        unit: result.unitCode,
        ...(result.unitMappedFrom ? { postedUnit: result.unitMappedFrom } : {}),
        status: result.status,
        created: result.created,
      },
      'dossier event stored',
    );
    await reply.status(result.created ? 201 : 200).send({
      code: result.code,
      status: result.status,
      created: result.created,
      unitCode: result.unitCode,
      ...(result.unitMappedFrom ? { unitMappedFrom: result.unitMappedFrom } : {}),
      survey: result.survey,
    });
  }

  return (app) => {
    app.post('/api/v1/dossiers', (req, reply) => handle(req, reply, parseDossierEvent));
    app.post('/api/v1/dossiers/dvc', (req, reply) => handle(req, reply, parseDvcEvent));
    return Promise.resolve();
  };
}
