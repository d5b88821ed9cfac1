import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';

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
  logger?: boolean;
}

/**
 * The one HTTP server of a process: webhooks, the REST API and pages are plugins registered on it.
 * JSON bodies are parsed here (not by each route) so every route gets the same answers to bad
 * input: 400 for malformed JSON, 413 over the body limit, 415 for other content types on JSON
 * routes.
 */
export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit,
    // Stateless processes behind a proxy: the client address comes from X-Forwarded-For set by it.
    trustProxy: opts.trustProxy ?? 'loopback',
    return503OnClosing: true,
  });

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const raw = body as Buffer;
    req.rawBody = raw;
    if (raw.length === 0) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(raw.toString('utf8')) as unknown);
    } catch {
      const err = new Error('malformed JSON body') as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const code =
      status === 413 ? 'body_too_large' : status === 400 ? 'bad_request' : status === 415 ? 'unsupported_media_type' : status >= 500 ? 'internal' : 'error';
    void reply.status(status).send({ error: code, message: status >= 500 ? 'internal error' : err.message });
  });

  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: 'no such route' });
  });

  return app;
}

export type RoutePlugin = FastifyPluginAsync;
