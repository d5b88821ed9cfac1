import { dereference } from '@readme/openapi-parser';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenAPIV3_1 } from 'openapi-types';

/**
 * Checks answers against the OpenAPI document the server itself serves: each status must be
 * documented for its route, and its body must match the documented schema.
 */
export class OpenApiContract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  private constructor(readonly doc: OpenAPIV3_1.Document) {
    addFormats(this.ajv);
  }

  static async load(baseUrl: string): Promise<OpenApiContract> {
    const res = await fetch(`${baseUrl}/api/v1/openapi.json`);
    if (res.status !== 200) throw new Error(`openapi.json answered ${res.status}`);
    const doc = (await dereference((await res.json()) as OpenAPIV3_1.Document)) as OpenAPIV3_1.Document;
    return new OpenApiContract(doc);
  }

  /** fastify's `/users/:username` as OpenAPI's `/users/{username}`. */
  static openapiPath(fastifyPath: string): string {
    return fastifyPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  }

  operation(method: string, path: string): OpenAPIV3_1.OperationObject | undefined {
    const item = this.doc.paths?.[OpenApiContract.openapiPath(path)] as
      Record<string, OpenAPIV3_1.OperationObject> | undefined;
    return item?.[method.toLowerCase()];
  }

  /** Problems with one answer: an undocumented status, or a body its schema refuses; [] when it conforms. */
  check(method: string, path: string, status: number, contentType: string | null, body: unknown): string[] {
    const op = this.operation(method, path);
    if (!op) return [`${method} ${path} is not in the document`];
    const response = op.responses?.[String(status)] as OpenAPIV3_1.ResponseObject | undefined;
    if (!response) return [`${method} ${path} answered ${status}, which the document does not list`];
    if (status === 204) return body === '' || body === undefined ? [] : ['a 204 answer has a body'];
    const type = (contentType ?? '').split(';')[0]!.trim();
    const media = response.content?.[type];
    if (!media?.schema)
      return [`${method} ${path} ${status}: no schema documented for ${type || '(no content type)'}`];
    const key = `${method} ${path} ${status} ${type}`;
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(media.schema as object);
      this.compiled.set(key, validate);
    }
    return validate(body)
      ? []
      : (validate.errors ?? []).map((e) => `${key}: ${e.instancePath || '/'} ${e.message ?? ''}`);
  }
}
