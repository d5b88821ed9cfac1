import pino from 'pino';

/**
 * The one logger. Context object first, message second; ids only, never phone numbers,
 * names, chat texts or free-text answers (Decree 13/2023). The redact list is a safety net.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  base: { pid: process.pid },
  redact: {
    paths: ['phone', '*.phone', 'text', '*.text', 'name', '*.name', 'applicant', '*.applicant', 'accessToken', 'refreshToken', '*.access_token', '*.refresh_token'],
    censor: '[redacted]',
  },
});

export type Logger = typeof logger;
