import type { FastifyPluginAsync } from 'fastify';
import type { Env } from '../../../config/env';
import { Dossier } from '../../../models/dossier';
import { telegramLink, webLink } from '../../survey/links';
import { qrPng, qrSvg } from '../../survey/qr';
import { TOKEN_RE } from '../../survey/token';

export interface SurveyPagesDeps {
  env: Pick<Env, 'PUBLIC_URL' | 'TELEGRAM_BOT_USERNAME'>;
  /** The web chat (bot/channels/web/routes.ts) registers /s/:token itself; this adds the QR codes. */
  webChat?: FastifyPluginAsync;
}

/**
 * Public survey pages: QR codes for receipts (/s/<token>/qr.png, /s/<token>/qr.svg; the web link
 * by default, `?for=telegram` for the Telegram deep link) and, when given, the web chat.
 * Only known tokens get a QR code: this is not a general QR generator.
 */
export function surveyPageRoutes(deps: SurveyPagesDeps): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { token: string; ext: string }; Querystring: { for?: string } }>(
      '/s/:token/qr.:ext',
      async (req, reply) => {
        const { token, ext } = req.params;
        if (
          (ext !== 'png' && ext !== 'svg') ||
          !TOKEN_RE.test(token) ||
          !(await Dossier.exists({ 'survey.token': token }))
        ) {
          return reply.status(404).send({ error: 'not_found', message: 'no such survey' });
        }
        const target =
          req.query.for === 'telegram' ? telegramLink(deps.env, token) : webLink(deps.env, token);
        if (target === null)
          return reply.status(404).send({ error: 'not_found', message: 'Telegram is not configured' });
        void reply.header('cache-control', 'private, max-age=86400');
        if (ext === 'png') return reply.type('image/png').send(await qrPng(target));
        return reply.type('image/svg+xml').send(await qrSvg(target));
      },
    );
    if (deps.webChat) await app.register(deps.webChat);
  };
}
