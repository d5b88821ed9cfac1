/**
 * The layering rules of docs/architecture.md, checked by `npm run arch` (dependency-cruiser) in
 * .ci/run. test/unit/architecture-rules.test.ts shows each rule reports a forbidden import.
 */
const IO_PACKAGES =
  'node_modules/(ioredis|mongoose|mongodb|bullmq|axios|telegraf|fastify|@fastify/[^/]+|pino|undici|exceljs|qrcode)/';
const IO_CORE =
  '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|tls|child_process|cluster|worker_threads|readline)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'console-through-api',
      comment:
        'The console reads and writes only through /api/v1 (bot/http/console/api.ts), so it can do nothing the caller could not do by API: no model, query, worker or API internals.',
      severity: 'error',
      from: { path: '^bot/http/console/' },
      to: { path: '^(models|indices|workers|privacy|bot/http/api)/' },
    },
    {
      name: 'lib-is-generic',
      comment: 'lib/ is shared by every layer, so it imports none of them.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(app|bin|bot|cli|indices|privacy|workers)/' },
    },
    {
      name: 'workers-below-app',
      comment: 'app/ wires processes together; workers/ must run without it.',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^(app|bin|cli)/' },
    },
    {
      name: 'models-are-schemas',
      comment: 'models/ holds the MongoDB schemas: they import only lib/, config/ and each other.',
      severity: 'error',
      from: { path: '^models/' },
      to: { path: '^(app|bin|bot|cli|indices|privacy|workers)/' },
    },
    {
      name: 'engine-is-pure',
      comment: 'bot/engine returns state, messages and answers; the conversation service does the I/O.',
      severity: 'error',
      from: { path: '^bot/engine/' },
      to: {
        path: [
          '^(app|bin|cli|indices|models|privacy|workers)/',
          '^bot/(channels|conversation|http|survey)/',
          '^bot/flow/repository',
          '^lib/(redis|mongo|logger|metrics|shutdown|api-auth|audit/)',
          IO_PACKAGES,
        ],
      },
    },
    {
      name: 'engine-is-pure-core',
      comment: 'No file, network or process I/O from the engine either.',
      severity: 'error',
      from: { path: '^bot/engine/' },
      to: { dependencyTypes: ['core'], path: IO_CORE },
    },
    {
      name: 'indices-read-side',
      comment:
        'indices/ is read by bot/http, cli and the workers, so it imports none of them. It may read ' +
        'the flow definitions (bot/flow) and their wording (bot/engine/render), which an index is computed over.',
      severity: 'error',
      from: { path: '^indices/' },
      to: { path: '^(app|bin|bot|cli|privacy|workers)/', pathNot: '^bot/(flow/|engine/render\\.ts$)' },
    },
    {
      name: 'no-circular',
      comment:
        'No import cycle that exists at run time. A cycle made only of type imports (erased by the ' +
        'compiler) is allowed: it orders no module loading.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    // Type-only imports are seen (and marked 'type-only'), not dropped by the compiler first.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
  },
};
