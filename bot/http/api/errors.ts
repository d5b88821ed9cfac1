import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AccountInputError, UsernameTakenError, UserNotFoundError } from '../../../lib/auth/accounts';
import { UnitAccessError } from '../../../lib/auth/scope';
import type { Logger } from '../../../lib/logger';

/** The one error shape of /api/v1: `error` (a code), `message` (Vietnamese first), `details` for 422. */
export const errorBody = z
  .object({
    error: z.string().describe('machine-readable code, e.g. not_found, invalid_request'),
    message: z.string().describe('for people, Vietnamese first'),
    details: z
      .array(
        z.object({
          path: z.string().describe('dotted path of the offending field, e.g. "unitCodes.0"'),
          in: z.enum(['body', 'query', 'params']).optional(),
          message: z.string(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof errorBody>;
export type ErrorDetail = NonNullable<ErrorBody['details']>[number];

/** An answer the API gives on purpose, by cause. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const unauthorized = (message = 'Ông/Bà cần đăng nhập. / Sign-in required.') =>
  new ApiError(401, 'unauthorized', message, undefined, { 'www-authenticate': 'Bearer' });
export const forbidden = (message = 'Ông/Bà không có quyền làm việc này. / Not allowed for this role.') =>
  new ApiError(403, 'forbidden', message);
/** Also the answer for an object outside the caller's units, so its existence does not leak. */
export const notFound = (message = 'Không tìm thấy. / Not found.') => new ApiError(404, 'not_found', message);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);
export const invalid = (details: ErrorDetail[], message = 'Dữ liệu không hợp lệ. / Invalid request.') =>
  new ApiError(422, 'invalid_request', message, details);

const LOCATION = { body: 'body', querystring: 'query', params: 'params' } as const;

const ZOD_VI = z.locales.vi().localeError;

/**
 * A validation message as every API message is, "Vietnamese / English": a schema's own
 * bilingual message as it is, zod's English default with zod's Vietnamese for the same issue
 * before it (a console page shows the person's half under the field).
 */
function bilingual(v: { keyword: string; params: Record<string, unknown>; message?: string }): string {
  const en = v.message ?? 'invalid';
  if (en.includes(' / ')) return en;
  // The issue as zod made it: fastify-type-provider-zod keeps its code as keyword, the rest as params.
  const vi = ZOD_VI({ ...v.params, code: v.keyword, path: [], input: undefined } as Parameters<
    typeof ZOD_VI
  >[0]);
  const text = typeof vi === 'string' ? vi : vi?.message;
  return text ? `${text} / ${en}` : en;
}

/** Maps anything a route throws to the error shape; our bugs are logged by id and answered 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof UnitAccessError || err instanceof UserNotFoundError) return notFound();
  if (err instanceof AccountInputError)
    return invalid([{ path: err.field, in: 'body', message: err.message }], err.message);
  if (err instanceof UsernameTakenError) return conflict(err.message);
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = LOCATION[err.validationContext as keyof typeof LOCATION] ?? 'body';
    return invalid(
      err.validation.map((v) => ({
        path: v.instancePath.replace(/^\//, '').replace(/\//g, '.'),
        in: where,
        message: bilingual(v),
      })),
    );
  }
  const status = (err as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code =
      status === 413 ? 'body_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
    return new ApiError(status, code, (err as Error).message);
  }
  return new ApiError(500, 'internal', 'Lỗi hệ thống. / Internal error.');
}

/** The error handler of the /api/v1 plugin (encapsulated: the rest of the server keeps its own). */
export function apiErrorHandler(log: Logger) {
  return async (err: unknown, req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const e = toApiError(err);
    if (e.status >= 500)
      log.error(
        {
          err:
            err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
          route: req.routeOptions.url,
          reqId: req.id,
        },
        'api request failed',
      );
    await reply
      .status(e.status)
      .headers(e.headers)
      .send({ error: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
  };
}
