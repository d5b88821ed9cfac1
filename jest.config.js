/** @type {import('jest').Config} */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  // ESM-only packages that jest's CommonJS runtime cannot require (Node itself can):
  // light-my-request's `cookie` (fastify's inject, used by the console's in-process API calls).
  '^.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
};
const transformIgnorePatterns = ['/node_modules/(?!(cookie)/)'];

module.exports = {
  testTimeout: 60000,
  // Integration and e2e files share one Redis and one MongoDB-compatible server; each file uses
  // its own database name and key prefix, so files may run in parallel.
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'services',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      // Fails (never skips) when Redis or the MongoDB-compatible server is missing.
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      // Load tests saturate the machine on purpose: `npm test` (scripts/test.sh) runs them after
      // the others, one at a time, so they never starve a test running beside them.
      displayName: 'load',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      testMatch: ['<rootDir>/test/load/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
