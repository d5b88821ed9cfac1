import type { FastifyReply } from 'fastify';
import { langOf, translator } from '../i18n';
import { broadcasts } from '../messages/broadcasts';
import { common } from '../messages/common';
import type { PageContext } from '../page';
import { sendPage } from '../render';
import { readUnitNames } from './unit-names';
import { when } from './cases-model';
import {
  actionsFor,
  localOfIso,
  progressFigures,
  reasonLabel,
  TERMINAL,
  type BroadcastView,
  type ProgressView,
} from './broadcasts-model';

const enc = encodeURIComponent;
const DONE = new Set([
  'created',
  'approved',
  'tested',
  'scheduled',
  'paused',
  'resumed',
  'cancelled',
  'linked',
]);

/** The page of one broadcast: content, target, the actions its state allows, progress or report. */
export async function renderBroadcast(
  ctx: PageContext,
  id: string,
  opts: {
    done?: string | undefined;
    channel?: string | undefined;
    error?: string;
    noChat?: boolean;
    link?: unknown;
    status?: number;
  } = {},
): Promise<FastifyReply> {
  const { me, api, req, reply } = ctx;
  const t = translator(langOf(req), broadcasts, common);
  const [{ broadcast: b, progress }, unitName] = await Promise.all([
    api.get<{ broadcast: BroadcastView; progress: ProgressView }>(`/broadcasts/${enc(id)}`),
    readUnitNames(api),
  ]);
  const report = b.finishedAt ? await api.get<ProgressView>(`/broadcasts/${enc(id)}/report`) : null;
  return sendPage(req, reply, 'broadcasts-show', {
    title: 'bc.title',
    me,
    csrf: me.csrfToken,
    messages: [broadcasts],
    status: opts.status,
    data: {
      b,
      unitName,
      p: progress,
      fig: progressFigures(progress, t),
      report,
      can: actionsFor(b, { username: me.user.username, permissions: me.user.permissions }),
      terminal: TERMINAL.has(b.status),
      done: opts.done && DONE.has(opts.done) ? opts.done : null,
      channel: opts.channel === 'zalo' ? 'Zalo' : 'Telegram',
      noChat: opts.noChat ?? false,
      error: opts.error ?? null,
      link: opts.link ?? null,
      sendAtLocal: localOfIso(b.sendAt),
      when,
      reasonLabel: (code: string) => reasonLabel(code, t),
    },
  });
}
