import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Env } from '../../../config/env';
import type { Logger } from '../../../lib/logger';
import { commandByName, parseCommand } from '../../conversation/commands';
import { decodeAction } from '../../engine/callback-data';
import { t, type TextKey } from '../../engine/messages';
import type { Lang } from '../../flow/schema';
import type { InboundEvent, TurnReply } from '../channel';
import { UNIT_START_PREFIX } from '../../survey/links';
import { TOKEN_RE, verifySurveyToken, verifyUnitStart } from '../../survey/token';
import {
  isCounterAddress,
  markCounterAnswer,
  parseCounterNetworks,
} from '../../../workers/aggregation/integrity/counter-network';
import { renderNotice, renderPage, renderTurn, type QuestionContext } from './render';

/**
 * The web chat channel: /s/<token> runs the same conversation service as the chat apps, for
 * citizens without Telegram or Zalo. The citizen's device is a random id in a first-party cookie
 * (no login), known to the server only as a keyed hash (the contact's user id `w_<hash>`), so a
 * database reader cannot replay the cookie; a reload resumes where they left off (the service's
 * `start` resumes an active session). That device is also the "contact" of the shared-contact
 * integrity rule. An answer posted from a one-stop shop network (COUNTER_NETWORKS) leaves a
 * boolean mark for the dossier (workers/aggregation/integrity/counter-network.ts); the IP is never stored.
 * Without JavaScript every answer is a form POST that returns the whole page; with it,
 * assets/chat.js posts the same form with `x-hl-fragment: 1` and appends the returned HTML.
 *
 * Every request is bound to one survey: the token is resolved first (an unknown, expired or used
 * one gets a polite page and creates nothing: no cookie, no contact, no live state), and an answer
 * is applied only when the URL's dossier is the one this device's active survey is about, so the
 * counter-network mark is always for the survey actually answered.
 */
export interface WebChatDeps {
  service: {
    handle(ev: InboundEvent): Promise<TurnReply>;
    activeDossier(channel: 'web', userId: string): Promise<string | null>;
  };
  env: Pick<Env, 'PUBLIC_URL' | 'PHONE_HASH_KEY'> &
    Partial<Pick<Env, 'COUNTER_NETWORKS' | 'SURVEY_TOKEN_TTL_HOURS'>>;
  log: Logger;
  now?: () => Date;
  /** Where counter-network marks go (Redis, keys under `prefix`); without it the rule is off. */
  marks?: { redis: Redis; prefix: string };
}

const COOKIE = 'hl_web';
const ID_RE = /^[A-Za-z0-9_-]{22}$/;
// The assets are not TypeScript, so `tsc` does not copy them to dist/: read them from the source tree then.
const ASSET_DIR = [
  join(__dirname, 'assets'),
  join(__dirname, '..', '..', '..', '..', 'bot', 'channels', 'web', 'assets'),
].find((d) => existsSync(join(d, 'chat.js')));
function asset(name: string): Buffer {
  if (!ASSET_DIR) throw new Error('web chat assets not found');
  return readFileSync(join(ASSET_DIR, name));
}
// A Map, not an object: a file name such as "__proto__" or "constructor" is just not found.
const ASSETS = new Map<string, { type: string; body: Buffer }>([
  ['chat.js', { type: 'text/javascript; charset=utf-8', body: asset('chat.js') }],
  ['chat.css', { type: 'text/css; charset=utf-8', body: asset('chat.css') }],
]);
const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  // The token is in the URL: never send it to another site.
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/** Web turns are numbered by the server: increasing across requests of this process. */
let lastUpdateId = 0;
function nextUpdateId(): number {
  lastUpdateId = Math.max(lastUpdateId + 1, Date.now() * 1000);
  return lastUpdateId;
}

function cookieId(req: FastifyRequest): string | null {
  const raw = req.headers.cookie ?? '';
  for (const part of raw.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE && v && ID_RE.test(v)) return v;
  }
  return null;
}

const REFUSAL = {
  vi: 'Trang này thuộc một khảo sát khác với khảo sát đang mở trên thiết bị này, nên câu trả lời chưa được ghi nhận. Xin Ông/Bà mở lại đường dẫn khảo sát để tiếp tục.',
  en: 'This page belongs to a different survey from the one open on this device, so the answer was not recorded. Please open the survey link again to continue.',
} as const;

const NOT_OK: Record<'unknown' | 'expired' | 'used', TextKey> = {
  unknown: 'unknownToken',
  expired: 'expired',
  used: 'alreadyAnswered',
};

export function webChatRoutes(deps: WebChatDeps): FastifyPluginAsync {
  const now = deps.now ?? (() => new Date());
  const secure = deps.env.PUBLIC_URL.startsWith('https:') ? '; Secure' : '';
  const counterNets = parseCounterNetworks(deps.env.COUNTER_NETWORKS ?? []);
  const markTtlS = ((deps.env.SURVEY_TOKEN_TTL_HOURS ?? 24 * 14) + 24) * 3600;
  // Domain-separated from phone hashes by the "device:" label.
  const deviceHash = (id: string) =>
    createHmac('sha256', deps.env.PHONE_HASH_KEY).update(`device:${id}`).digest('base64url').slice(0, 32);
  const userOf = (id: string) => `w_${deviceHash(id)}`;

  /** The device's user id from its cookie; a device without one gets a new cookie (valid links only). */
  function device(req: FastifyRequest, reply: FastifyReply): string {
    let id = cookieId(req);
    if (!id) {
      id = randomBytes(16).toString('base64url');
      void reply.header(
        'set-cookie',
        `${COOKIE}=${id}; Path=/s; Max-Age=${90 * 86400}; HttpOnly; SameSite=Lax${secure}`,
      );
    }
    return userOf(id);
  }

  async function send(
    reply: FastifyReply,
    req: FastifyRequest,
    action: string,
    html: string,
    lang: Lang,
  ): Promise<void> {
    void reply.headers(HEADERS).type('text/html; charset=utf-8');
    if (req.headers['x-hl-fragment'] === '1') await reply.send(html);
    else await reply.send(renderPage({ action, lang, turn: html }));
  }

  /** Opens (or resumes) the survey `start` names on this device and renders its first turn. */
  async function open(
    req: FastifyRequest,
    reply: FastifyReply,
    action: string,
    start: string,
  ): Promise<void> {
    const userId = device(req, reply);
    const turn = await deps.service.handle({
      channel: 'web',
      userId,
      updateId: nextUpdateId(),
      input: { kind: 'start', token: start },
    });
    await send(reply, req, action, renderTurn(action, turn, null), turn.lang);
  }

  /**
   * Applies one posted answer to the survey of `target`: a dossier's, or a unit's own (dossierCode
   * null). The device's active survey must be that one; answers never go to another survey.
   */
  async function answer(
    req: FastifyRequest<{ Body: Record<string, string> | undefined }>,
    reply: FastifyReply,
    target: { action: string; dossierCode: string | null; unitCode: string },
  ): Promise<void> {
    const { action } = target;
    const body = req.body && typeof req.body === 'object' ? req.body : {};
    let input: InboundEvent['input'] | null = null;
    let typed: string | null = null;
    if (typeof body.cmd === 'string') {
      const named = commandByName(body.cmd);
      if (named?.kind === 'command') input = named;
    } else if (typeof body.a === 'string') {
      const a = decodeAction(body.a);
      if (a) input = { kind: 'action', action: a };
    } else if (typeof body.text === 'string' && body.text.trim() !== '') {
      typed = body.text.slice(0, 1000);
      // A typed "/start" or "bắt đầu" on the survey's own page is a reload: it resumes.
      const command = parseCommand(typed);
      input = command
        ? command.kind === 'command' || command.kind === 'privacy'
          ? command
          : null
        : { kind: 'text', text: typed };
    }
    if (!input) {
      await reply.redirect(action, 303);
      return;
    }
    const id = cookieId(req);
    const userId = id ? userOf(id) : null;
    const lang: Lang = 'vi';
    // /dulieu and /xoa are about the device, whatever survey it is on now.
    if (userId && input.kind === 'privacy') {
      const turn = await deps.service.handle({ channel: 'web', userId, updateId: nextUpdateId(), input });
      await send(reply, req, action, renderTurn(action, turn, null, typed), turn.lang);
      return;
    }
    if (!userId || (await deps.service.activeDossier('web', userId)) !== target.dossierCode) {
      deps.log.info(
        { channel: 'web', dossier: target.dossierCode, unit: target.unitCode },
        "web answer refused: not the device's active survey",
      );
      return notice(reply, req, renderNotice(action, lang, REFUSAL[lang]), lang, 409);
    }
    // Before the turn, so the completion job (enqueued by the turn) always sees the mark.
    if (target.dossierCode && deps.marks && isCounterAddress(counterNets, req.ip, target.unitCode)) {
      await markCounterAnswer(deps.marks.redis, deps.marks.prefix, target.dossierCode, markTtlS);
      deps.log.info({ channel: 'web', dossier: target.dossierCode }, 'web answer from a counter network');
    }
    const pressed: QuestionContext | null =
      typeof body.qt === 'string'
        ? {
            text: body.qt.slice(0, 1000),
            ...(typeof body.qp === 'string' ? { progress: body.qp.slice(0, 40) } : {}),
          }
        : null;
    // The turn checks the binding again, atomically with applying it.
    const turn = await deps.service.handle({
      channel: 'web',
      userId,
      updateId: nextUpdateId(),
      input,
      dossierCode: target.dossierCode,
    });
    if (turn.refused)
      return notice(reply, req, renderNotice(action, turn.lang, REFUSAL[turn.lang]), turn.lang, 409);
    deps.log.debug({ channel: 'web', kind: input.kind }, 'web turn');
    await send(reply, req, action, renderTurn(action, turn, pressed, typed), turn.lang);
  }

  /** A page that applies nothing: the notice, and no survey tools (there is no survey to act on). */
  async function notice(
    reply: FastifyReply,
    req: FastifyRequest,
    html: string,
    lang: Lang,
    status: number,
  ): Promise<void> {
    void reply.status(status).headers(HEADERS).type('text/html; charset=utf-8');
    if (req.headers['x-hl-fragment'] === '1') await reply.send(html);
    else await reply.send(renderPage({ action: '', lang, turn: html, tools: false }));
  }

  async function verify(token: string) {
    return TOKEN_RE.test(token)
      ? verifySurveyToken(token, now())
      : ({ ok: false, reason: 'unknown' } as const);
  }

  return (app) => {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );

    app.get<{ Params: { file: string } }>('/s/assets/:file', async (req, reply) => {
      const a = ASSETS.get(req.params.file);
      if (!a) return reply.status(404).send({ error: 'not_found', message: 'no such asset' });
      return reply.header('cache-control', 'public, max-age=3600').type(a.type).send(a.body);
    });

    app.get<{ Params: { token: string } }>('/s/:token', async (req, reply) => {
      const { token } = req.params;
      // Resolved before anything is created: a made-up token costs a read, never a contact.
      const v = await verify(token);
      if (!v.ok) return notice(reply, req, renderNotice(null, 'vi', t(NOT_OK[v.reason], 'vi')), 'vi', 200);
      await open(req, reply, `/s/${token}`, token);
    });

    app.post<{ Params: { token: string }; Body: Record<string, string> | undefined }>(
      '/s/:token',
      async (req, reply) => {
        const { token } = req.params;
        const v = await verify(token);
        // Late answers get a polite "expired", not a silent failure; nothing is applied.
        if (!v.ok) return notice(reply, req, renderNotice(null, 'vi', t(NOT_OK[v.reason], 'vi')), 'vi', 200);
        return answer(req, reply, {
          action: `/s/${token}`,
          dossierCode: v.dossier.code,
          unitCode: v.dossier.unitCode,
        });
      },
    );

    // A unit's own survey, without a dossier (posters, the unit's website): /s/u/<unit code>.
    app.get<{ Params: { unit: string } }>('/s/u/:unit', async (req, reply) => {
      const start = `${UNIT_START_PREFIX}${req.params.unit}`;
      if (!(await verifyUnitStart(start, now())).ok)
        return notice(reply, req, renderNotice(null, 'vi', t('unknownToken', 'vi')), 'vi', 200);
      await open(req, reply, `/s/u/${encodeURIComponent(req.params.unit)}`, start);
    });

    app.post<{ Params: { unit: string }; Body: Record<string, string> | undefined }>(
      '/s/u/:unit',
      async (req, reply) => {
        const v = await verifyUnitStart(`${UNIT_START_PREFIX}${req.params.unit}`, now());
        if (!v.ok) return notice(reply, req, renderNotice(null, 'vi', t('unknownToken', 'vi')), 'vi', 200);
        return answer(req, reply, {
          action: `/s/u/${encodeURIComponent(req.params.unit)}`,
          dossierCode: null,
          unitCode: v.unitCode,
        });
      },
    );
    return Promise.resolve();
  };
}
