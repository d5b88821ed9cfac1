import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import secureJson from 'secure-json-parse';
import { logger as rootLogger, type Logger } from '../../lib/logger';
import { installRateLimits, type RateLimitOptions } from './rate-limit';
import { applySecurityHeaders } from './security-headers';
import { checkJsonInput, PROBLEM_MESSAGES } from './json-input';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact bytes of a JSON body, for signature checks (Zalo, HMAC-signed dossier events). */
    rawBody?: Buffer;
  }
}

export interface HttpServerOptions {
  bodyLimit: number;
  /**
   * Which peers may set X-Forwarded-For (fastify's trustProxy: addresses, CIDRs or the names
   * loopback / linklocal / uniquelocal, comma-separated; true trusts everyone). Default
   * `loopback`: a proxy on the same host. Trusting every peer would let any client choose the
   * address the counter-network integrity rule sees.
   */
  trustProxy?: boolean | string;
  /** Where request lines and errors go (default: the process logger). */
  log?: Logger;
  /** Request budgets (bot/http/rate-limit.ts); none: nothing is limited. */
  rateLimits?: RateLimitOptions;
}

export { MAX_JSON_DEPTH } from './json-input';

/**
 * What a request line may say: the route pattern, never the URL (the survey token is in the path
 * of /s/<token>, queries may carry anything), no headers (keys, signatures, cookies), no body.
 */
const serializers = {
  req: (req: FastifyRequest) => ({ method: req.method, route: req.routeOptions?.url ?? null }),
  res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
};

/**
 * A route's `config` for its `request completed` line. A platform's webhook sets `debug`: it
 * is called once per chat update, so at `info` a busy bot wrote a line per citizen's tap on the
 * path every reply waits on; its counts and outcomes are in the metrics (`hailong_updates_total`).
 */
export interface RequestLineConfig {
  requestLine?: 'info' | 'debug';
}

/** The config of a route whose requests are a platform's webhook calls. */
export const WEBHOOK_ROUTE = Object.freeze({ config: { requestLine: 'debug' } satisfies RequestLineConfig });

/** One line per request, when it ends (fastify writes two by default), through the serializers above. */
class RequestLines extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    _req: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = { req: reply.request, res: reply, ms: Math.round(reply.elapsedTime) };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else if ((reply.request.routeOptions.config as RequestLineConfig | undefined)?.requestLine === 'debug')
      reply.log.debug(line, 'request completed');
    else reply.log.info(line, 'request completed');
  }

  // fastify's line names the raw URL.
  override routeNotFound(req: FastifyRequest): void {
    req.log.info({ req }, 'route not found');
  }
}

function badRequest(message: string): Error & { statusCode: number } {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/**
 * The one HTTP server of a process: webhooks, the REST API and pages are plugins registered on it.
 * JSON bodies are parsed here (not by each route) so every route gets the same answers to bad
 * input: 400 for malformed JSON, prototype-poisoning keys and what ./json-input.ts refuses,
 * 413 over the body limit, 415 for any other content type (the web chat adds its form parser for
 * /s/*). Every request gets an id (X-Request-Id), a log line (route pattern, status, time; at
 * debug level for WEBHOOK_ROUTE) and, on a 5xx, an error line with the error; every response the
 * security headers of ./security-headers.ts.
 */
export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const log = (opts.log ?? rootLogger).child({ component: 'http' }, { serializers });
  // Typed as fastify's logger, so the instance keeps fastify's default generics.
  const loggerInstance: FastifyBaseLogger = log;
  const app = Fastify({
    loggerInstance,
    logController: new RequestLines(),
    genReqId: () => randomUUID(),
    bodyLimit: opts.bodyLimit,
    // Stateless processes behind a proxy: the client address comes from X-Forwarded-For set by it.
    trustProxy: opts.trustProxy ?? 'loopback',
    return503OnClosing: true,
  });

  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  // The one place security headers are set: every route, error, 404 and 429 (a route's own CSP is kept).
  app.addHook('onSend', async (_req, reply, payload) => {
    applySecurityHeaders(reply);
    return payload;
  });

  // fastify's text/plain parser would hand JSON routes a string: every other type is a 415.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const raw = body as Buffer;
    req.rawBody = raw;
    if (raw.length === 0) {
      done(null, undefined);
      return;
    }
    let value: unknown;
    try {
      // fastify's own parser: refuses __proto__ and constructor.prototype keys.
      value = secureJson.parse(raw, { protoAction: 'error', constructorAction: 'error' }) as unknown;
    } catch (err) {
      const poisoned = /forbidden prototype/.test((err as Error).message);
      done(
        badRequest(
          poisoned
            ? 'forbidden key (__proto__ or constructor.prototype) in JSON body'
            : 'malformed JSON body',
        ),
        undefined,
      );
      return;
    }
    // The rules of ./json-input.ts: depth, `$` and dotted keys, lone surrogates; NFC text.
    const checked = checkJsonInput(value);
    if (!checked.ok) done(badRequest(PROBLEM_MESSAGES[checked.problem]), undefined);
    else done(null, checked.value);
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const code =
      status === 413
        ? 'body_too_large'
        : status === 400
          ? 'bad_request'
          : status === 415
            ? 'unsupported_media_type'
            : status >= 500
              ? 'internal'
              : 'error';
    if (status >= 500) req.log.error({ err, req }, 'request failed');
    void reply.status(status).send({ error: code, message: status >= 500 ? 'internal error' : err.message });
  });

  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: 'no such route' });
  });

  installRateLimits(app, opts.rateLimits ?? null);
  return app;
}

export type RoutePlugin = FastifyPluginAsync;
