/**
 * The OpenAPI document of the HTTP API, generated from its route table: the request schemas in it
 * are the zod schemas that validate the requests, converted to JSON Schema.
 */
import { z } from 'zod';
import { apiPrefix, apiRoutes, type ApiRoute } from './api.js';

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

/** `/errors/:id` as OpenAPI writes it: `/errors/{id}`. */
export const openApiPath = (url: string) => `${apiPrefix}${url}`.replace(/:([A-Za-z]+)/g, '{$1}');

function parameters(route: ApiRoute) {
  const of = (schema: z.ZodType | undefined, where: 'path' | 'query') => {
    const properties = (schema && (jsonSchema(schema).properties as Record<string, unknown>)) ?? {};
    const required = new Set((schema && (jsonSchema(schema).required as string[])) ?? []);
    return Object.entries(properties).map(([name, schemaOf]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: schemaOf }));
  };
  return [...of(route.params, 'path'), ...of(route.query, 'query')];
}

const problems = {
  description: 'refused: each problem names its field',
  content: { 'application/json': { schema: { type: 'object', properties: { problems: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } } } } } },
};
const message = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'string' } } } } } });

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of apiRoutes) {
    paths[openApiPath(route.url)] ??= {};
    paths[openApiPath(route.url)]![route.method.toLowerCase()] = {
      summary: route.summary,
      parameters: parameters(route),
      ...(route.body && { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } } }),
      responses: {
        200: { description: route.answers, content: { 'application/json': { schema: {} } } },
        400: problems,
        401: message('no valid API token'),
        404: message("not found in the token's account"),
        429: message('too many requests; see Retry-After'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Herald API', version: '1', description: 'Report errors, successes and connection status of integration flows; read and resolve errors.' },
    components: { securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'an account API token (herald tokens create)' } } },
    security: [{ token: [] }],
    paths,
  };
}
