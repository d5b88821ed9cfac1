import { z } from 'zod';
import { defineRoute } from '../route';

export const openapiRoutes = [
  defineRoute({
    id: 'openapi.get',
    method: 'GET',
    path: '/openapi.json',
    tag: 'meta',
    summary: 'Tài liệu OpenAPI 3.1 / this API’s OpenAPI 3.1 document, generated from its schemas',
    auth: 'public',
    permission: null,
    scope: { kind: 'none', why: 'the API’s description, no data' },
    response: z.looseObject({
      openapi: z.string(),
      info: z.looseObject({}),
      paths: z.record(z.string(), z.unknown()),
    }),
    // @fastify/swagger's document type is OpenAPI's, which the loose schema above accepts as it is.
    handler: async ({ reply }) =>
      reply.server.swagger() as unknown as {
        openapi: string;
        info: Record<string, unknown>;
        paths: Record<string, unknown>;
      },
  }),
];
