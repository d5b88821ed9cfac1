import { z } from 'zod';
import { PreviewStore, type Preview, type PreviewTurn } from '../../../conversation/preview';
import { notFound } from '../errors';
import { defineRoute } from '../route';
import type { ApiDeps } from '../deps';
import { isoDate } from '../schemas';
import { draftInScope } from './flow-drafts';
import { inbound, invalidFlow, outbound, recordedAnswer } from './flow-schemas';
import { checkDraft } from '../../../flow/drafts';
import type { Inbound } from '../../../engine/types';

const store = (deps: ApiDeps) => new PreviewStore(deps.ctx.redis, deps.ctx.prefix);

const turnView = z.object({
  at: isoDate,
  input: inbound.nullable().describe('what the tester sent (null: the start)'),
  messages: z.array(outbound),
  answers: z.array(recordedAnswer).describe('what a real survey would record at this turn: never stored'),
});
const previewView = z
  .object({
    id: z.string(),
    draftId: z.string(),
    flowKey: z.string(),
    status: z.enum(['active', 'completed', 'declined', 'stopped', 'expired']),
    current: z.string().nullable().describe('the node waiting for an answer'),
    expiresAt: isoDate,
    turns: z.array(turnView),
  })
  .meta({ id: 'Preview' });

const turnOut = (t: PreviewTurn): z.output<typeof turnView> => ({
  ...t,
  input: (t.input as z.output<typeof inbound> | null) ?? null,
});
const previewOut = (p: Preview, turns: PreviewTurn[] = p.turns): z.output<typeof previewView> => ({
  id: p.id,
  draftId: p.draftId,
  flowKey: p.flow.key,
  status: p.state.status,
  current: p.state.current,
  expiresAt: p.expiresAt,
  turns: turns.map(turnOut),
});

/** A preview the caller may see: its draft's unit in scope, else 404 (as for the draft). */
async function previewInScope(
  deps: ApiDeps,
  id: string,
  scope: { allows(u: string | null): Promise<boolean> },
) {
  const p = await store(deps).get(id);
  if (!p || !(await scope.allows(p.unitCode))) throw notFound();
  return p;
}

const byId = z.object({ id: z.uuid() });
const USE = { auth: 'user', permission: 'preview:use', tag: 'preview' } as const;

export const previewRoutes = [
  defineRoute({
    ...USE,
    id: 'preview.start',
    method: 'POST',
    path: '/previews',
    summary: 'Chạy thử bản nháp / start a throwaway conversation on a draft',
    description:
      'The real engine on the draft as it is now; nothing is stored with real answers or counted ' +
      'in any index (the preview lives in Redis for 30 minutes). The answer holds the first turn.',
    scope: { kind: 'object' },
    body: z.object({
      draftId: z.string().min(1).max(64),
      lang: z.enum(['vi', 'en']).default('vi'),
      channel: z
        .enum(['telegram', 'zalo', 'web'])
        .default('telegram')
        .describe('whose wording of the thanks to use'),
      vars: z
        .object({ ma: z.string().max(120), donvi: z.string().max(120), thutuc: z.string().max(120) })
        .partial()
        .optional()
        .describe('placeholder values (default: those of a survey without a dossier)'),
    }),
    status: 201,
    response: previewView,
    handler: async ({ body, scope, caller, deps }) => {
      const draft = await draftInScope(body.draftId, scope);
      const checked = checkDraft(draft);
      if (!checked.ok) throw invalidFlow(checked.issues);
      const vars = Object.fromEntries(
        Object.entries(body.vars ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      const { preview } = await store(deps).start({
        draftId: draft.id,
        unitCode: draft.unitCode,
        by: caller.actor,
        flow: checked.flow,
        lang: body.lang,
        channel: body.channel,
        vars,
      });
      return previewOut(preview);
    },
  }),

  defineRoute({
    ...USE,
    id: 'preview.get',
    method: 'GET',
    path: '/previews/:id',
    summary: 'Một lần chạy thử / a preview and its turns so far',
    scope: { kind: 'object' },
    params: byId,
    response: previewView,
    handler: async ({ params, scope, deps }) => previewOut(await previewInScope(deps, params.id, scope)),
  }),

  defineRoute({
    ...USE,
    id: 'preview.send',
    method: 'POST',
    path: '/previews/:id/inputs',
    summary: 'Gửi câu trả lời thử / send an input to a preview and read the replies',
    description: 'The answer is the preview with this turn only (GET the preview for all of them).',
    scope: { kind: 'object' },
    params: byId,
    body: z.object({ input: inbound }),
    response: previewView.extend({
      ack: z.string().optional().describe('a button press’s acknowledgement'),
      chosen: z.array(z.string()).optional(),
    }),
    handler: async ({ params, body, scope, deps }) => {
      await previewInScope(deps, params.id, scope);
      const sent = await store(deps).send(params.id, body.input as Inbound);
      if (!sent) throw notFound();
      return {
        ...previewOut(sent.preview, [sent.turn]),
        ...(sent.result.ack !== undefined ? { ack: sent.result.ack } : {}),
        ...(sent.result.chosen ? { chosen: sent.result.chosen } : {}),
      };
    },
  }),
];
