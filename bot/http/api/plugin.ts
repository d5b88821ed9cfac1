import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { AppContext } from '../../../lib/app-context';
import { buildApiDeps } from './deps';
import { apiErrorHandler } from './errors';
import { closeProducers } from './producers';
import { checkRouteTable, registerRoute } from './register';
import type { ApiRoute } from './route';
import { API_ROUTES } from './routes';

export interface ApiPluginOptions {
  ctx: AppContext;
  /** The route table (API_ROUTES); tests pass their own to try the framework's refusals. */
  routes?: readonly ApiRoute[];
}

/** Where people read the API (Swagger UI, served from the package: no CDN at run time). */
export const API_DOCS_PATH = '/api/docs';

/**
 * The versioned REST API under /api/v1: every route of the table (./routes), validated and
 * serialized by its zod schemas, described by the OpenAPI 3.1 document generated from those
 * same schemas (/api/v1/openapi.json, and the reference page at /api/docs). Encapsulated: its
 * error handler, compilers and cookie parser apply to its routes only, so the webhooks and
 * pages of the same server keep theirs. docs/api.md.
 */
export function apiPlugin(opts: ApiPluginOptions): FastifyPluginAsync {
  return async (app) => {
    const routes = opts.routes ?? API_ROUTES;
    checkRouteTable(routes);
    const deps = buildApiDeps(opts.ctx);

    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.setErrorHandler(apiErrorHandler(opts.ctx.log));
    app.decorateRequest('apiCaller', null);
    await app.register(fastifyCookie);
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Hài Lòng API',
          version: '1.0.0',
          description:
            'API của hệ thống khảo sát mức độ hài lòng. / The Hài Lòng REST API: sign-in, units, accounts, keys, audit. See docs/api.md.',
        },
        servers: [{ url: opts.ctx.env.PUBLIC_URL }],
        components: {
          securitySchemes: {
            session: {
              type: 'apiKey',
              in: 'cookie',
              name: deps.cookie.name,
              description: 'set by POST /api/v1/auth/login',
            },
            csrf: {
              type: 'apiKey',
              in: 'header',
              name: 'x-csrf-token',
              description:
                'the csrfToken of login or /auth/me, on every state-changing request made with the session cookie',
            },
            bearer: { type: 'http', scheme: 'bearer', description: 'an API key: hl_<keyId>_<secret>' },
          },
        },
      },
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(fastifySwaggerUi, {
      routePrefix: API_DOCS_PATH,
      // Everything from this server: no third-party script, style, font or validator.
      staticCSP: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
      uiConfig: { validatorUrl: null, persistAuthorization: false },
    });
    for (const r of routes) registerRoute(app, r, deps);
    app.addHook('onClose', () => closeProducers(opts.ctx));
  };
}
