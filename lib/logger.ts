import pino from 'pino';

/**
 * The one logger. Context object first, message second; ids only, never phone numbers,
 * names, chat texts or free-text answers (Personal Data Protection Law 91/2025/QH15). The
 * redact list is a safety net. Logs go to stderr: stdout carries only what a command prints
 * (a CSV, a report, a key), so it can be redirected or piped as it is.
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
  pino.destination(2),
);

export type Logger = typeof logger;
