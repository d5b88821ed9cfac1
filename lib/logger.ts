import pino from 'pino';

/**
 * The one logger. Context object first, message second; ids only, never phone numbers,
 * names, chat texts or free-text answers (Personal Data Protection Law 91/2025/QH15). The
 * redact list is a safety net. Logs go to stderr: stdout carries only what a command prints
 * (a CSV, a report, a key), so it can be redirected or piped as it is.
 *
 * Written asynchronously: a synchronous write blocks the event loop whenever stderr is a pipe
 * whose reader is behind (a container's log collector, a parent process that reads its child's
 * logs), and every turn in the process waits with it. pino flushes what is buffered when the
 * process exits, `process.exit()` included.
 */
export const logger = pino(
  {
    level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
    base: { pid: process.pid },
    redact: {
      paths: [
        'phone',
        '*.phone',
        'text',
        '*.text',
        'name',
        '*.name',
        'applicant',
        '*.applicant',
        'accessToken',
        'refreshToken',
        '*.access_token',
        '*.refresh_token',
      ],
      censor: '[redacted]',
    },
  },
  pino.destination({ dest: 2, sync: false }),
);

export type Logger = typeof logger;
