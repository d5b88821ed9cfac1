import { isValidObjectId } from 'mongoose';
import { z } from 'zod';
import type { Scope } from '../../../../lib/auth/scope';
import {
  Broadcast,
  BROADCAST_CHANNELS,
  BROADCAST_STATUSES,
  type BroadcastDoc,
} from '../../../../models/broadcast';
import { User } from '../../../../models/user';
import { broadcastSenders } from '../../../../workers/broadcast/channels';
import {
  BroadcastInputError,
  BroadcastStateError,
  createBroadcast,
  rescheduleBroadcast,
} from '../../../../workers/broadcast/control';
import { renderBroadcast, validateContent } from '../../../../workers/broadcast/render';
import { BroadcastSendError } from '../../../../workers/broadcast/senders';
import { countRecipients, type BroadcastTarget } from '../../../../workers/broadcast/targeting';
import { ApiError, invalid, notFound } from '../errors';
import { controlDeps } from '../producers';
import { defineRoute } from '../route';
import { iso, isoDate, unitCode } from '../schemas';

/**
 * Broadcasts (tuyên truyền) through the one control module (workers/broadcast/control.ts), the
 * one the CLI uses. A broadcast belongs to the unit it targets; one to every contact (no unit)
 * is for every-unit callers only. Progress, the stream and the report: broadcast-control.ts.
 */
export const broadcastBody = z
  .object({
    id: z.string(),
    text: z.string(),
    textEn: z.string().nullable(),
    format: z.enum(['text', 'html']),
    imageUrl: z.string().nullable(),
    buttons: z.array(z.object({ text: z.string(), textEn: z.string().nullable(), url: z.string() })),
    target: z.object({
      unitCode: z.string().nullable(),
      channels: z.array(z.enum(BROADCAST_CHANNELS)),
      lang: z.enum(['vi', 'en']).nullable(),
      tags: z.array(z.string()),
    }),
    status: z.enum(BROADCAST_STATUSES),
    createdBy: z.string(),
    approvalRequired: z.boolean(),
    approvedBy: z.string().nullable(),
    approvedAt: isoDate.nullable(),
    sendAt: isoDate.nullable(),
    ignoreQuietHours: z.boolean(),
    heldUntil: isoDate.nullable(),
    recipientCount: z.number().int(),
    createdAt: isoDate.nullable(),
    startedAt: isoDate.nullable(),
    finishedAt: isoDate.nullable(),
  })
  .meta({ id: 'Broadcast' });

type BroadcastLean = BroadcastDoc & { _id: { toString(): string }; createdAt?: Date };

export function broadcastOut(b: BroadcastLean): z.output<typeof broadcastBody> {
  return {
    id: b._id.toString(),
    text: b.text,
    textEn: b.textEn ?? null,
    format: b.format === 'html' ? 'html' : 'text',
    imageUrl: b.imageUrl ?? null,
    buttons: b.buttons.map((x) => ({ text: x.text, textEn: x.textEn ?? null, url: x.url })),
    target: {
      unitCode: b.target?.unitCode ?? null,
      channels: (b.target?.channels ?? []) as Array<(typeof BROADCAST_CHANNELS)[number]>,
      lang: (b.target?.lang ?? null) as 'vi' | 'en' | null,
      tags: b.target?.tags ?? [],
    },
    status: b.status,
    createdBy: b.createdBy,
    approvalRequired: b.approvalRequired,
    approvedBy: b.approvedBy ?? null,
    approvedAt: iso(b.approvedAt),
    sendAt: iso(b.sendAt),
    ignoreQuietHours: b.ignoreQuietHours,
    heldUntil: iso(b.heldUntil),
    recipientCount: b.recipientCount,
    createdAt: iso(b.createdAt),
    startedAt: iso(b.startedAt),
    finishedAt: iso(b.finishedAt),
  };
}

/** The broadcast of the path, or 404 when there is none or its unit lies outside the caller's. */
export async function scopedBroadcast(id: string, scope: Scope): Promise<BroadcastLean> {
  const b = isValidObjectId(id) ? await Broadcast.findById(id).lean<BroadcastLean>() : null;
  await scope.require(b ? (b.target?.unitCode ?? null) : null);
  if (!b) throw notFound();
  return b;
}

/** A state the broadcast is not in (already approved, the author approving, finished…): 409. */
export async function asState<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BroadcastStateError) throw new ApiError(409, 'conflict', `${err.vi} / ${err.en}`);
    throw err;
  }
}

export const broadcastParams = z.object({ id: z.string().min(1).max(64) });

const targetShape = {
  unitCode: unitCode
    .optional()
    .describe(
      'the unit (and its subtree) whose subscribers get it; required unless the caller sees every unit',
    ),
  channels: z.array(z.enum(BROADCAST_CHANNELS)).max(2).optional(),
  lang: z.enum(['vi', 'en']).optional(),
  tags: z.array(z.string().min(1).max(64)).max(20).optional(),
};
type TargetInput = {
  unitCode?: string | undefined;
  channels?: string[] | undefined;
  lang?: 'vi' | 'en' | undefined;
  tags?: string[] | undefined;
};

/** The target of the request; a broadcast to every unit only for a caller who sees every unit. */
async function targetOf(b: TargetInput, scope: Scope): Promise<BroadcastTarget> {
  if (!b.unitCode && (await scope.units()) !== null)
    throw invalid([{ path: 'unitCode', in: 'body', message: 'required: the unit whose subscribers get it' }]);
  return {
    unitCode: b.unitCode ?? null,
    channels: (b.channels ?? []) as BroadcastTarget['channels'],
    lang: b.lang ?? null,
    tags: b.tags ?? [],
  };
}

/** A broadcast's content, as created and as previewed. */
const contentShape = {
  text: z.string().min(1).max(4000),
  textEn: z.string().min(1).max(4000).optional(),
  format: z.enum(['text', 'html']).default('text'),
  imageUrl: z.url().max(2000).optional(),
  buttons: z
    .array(
      z.object({
        text: z.string().min(1).max(64),
        textEn: z.string().max(64).optional(),
        url: z.url().max(2000),
      }),
    )
    .max(3)
    .optional(),
};

const renderedBody = z
  .object({
    lang: z.enum(['vi', 'en']),
    html: z.string().describe('Telegram: the text or photo caption, in its HTML subset'),
    plain: z.string().describe('Zalo: the plain text (no formatting)'),
    imageUrl: z.string().nullable(),
    links: z.array(z.object({ text: z.string(), url: z.string() })),
    stopButton: z.string(),
  })
  .meta({ id: 'RenderedBroadcast' });

const recipientsBody = z
  .object({
    total: z.number().int(),
    byChannel: z.object({ telegram: z.number().int(), zalo: z.number().int() }),
    zaloOutsideWindow: z
      .number()
      .int()
      .describe('Zalo followers that match but are outside the 7-day window'),
  })
  .meta({ id: 'RecipientCount' });

const BC = { tag: 'broadcasts', auth: 'user' } as const;

export const broadcastRoutes = [
  defineRoute({
    ...BC,
    id: 'broadcasts.list',
    method: 'GET',
    path: '/broadcasts',
    summary: 'Thông báo / broadcasts to the caller’s units, newest first',
    permission: 'broadcasts:read',
    scope: { kind: 'list' },
    query: z.object({ status: z.enum(BROADCAST_STATUSES).optional() }),
    response: z.object({ broadcasts: z.array(broadcastBody) }),
    handler: async ({ query, scope }) => {
      const f: Record<string, unknown> = { ...(await scope.filter('target.unitCode')) };
      if (query.status) f.status = query.status;
      const docs = await Broadcast.find(f).sort({ createdAt: -1 }).limit(200).lean<BroadcastLean[]>();
      return { broadcasts: docs.map(broadcastOut) };
    },
  }),

  defineRoute({
    ...BC,
    id: 'broadcasts.count',
    method: 'POST',
    path: '/broadcasts/count',
    summary: 'Đếm người nhận / count the recipients of a target before composing',
    permission: 'broadcasts:write',
    scope: { kind: 'unit', in: 'body', field: 'unitCode' },
    body: z.object(targetShape),
    response: recipientsBody,
    handler: async ({ body, scope, deps }) =>
      countRecipients(await targetOf(body, scope), { zaloWindowH: deps.ctx.env.ZALO_CS_WINDOW_H }),
  }),

  defineRoute({
    ...BC,
    id: 'broadcasts.preview',
    method: 'POST',
    path: '/broadcasts/preview',
    summary: 'Xem trước / the content as each language’s recipients would get it, and its problems',
    description:
      'Rendered exactly as the senders will send it (the unsubscribe line and button added), in vi and, when ' +
      'there is an English text, en; `problems` are those POST /broadcasts would refuse. Nothing is stored.',
    permission: 'broadcasts:write',
    scope: { kind: 'none', why: 'content only, no data' },
    body: z.object(contentShape),
    response: z.object({ problems: z.array(z.string()), messages: z.array(renderedBody) }),
    handler: async ({ body }) => {
      const content = {
        text: body.text,
        textEn: body.textEn ?? null,
        format: body.format,
        imageUrl: body.imageUrl ?? null,
        buttons: (body.buttons ?? []).map((b) => ({ text: b.text, textEn: b.textEn ?? null, url: b.url })),
      };
      const langs = content.textEn ? (['vi', 'en'] as const) : (['vi'] as const);
      return {
        problems: validateContent(content),
        messages: langs.map((l) => renderBroadcast(content, l)),
      };
    },
  }),

  defineRoute({
    ...BC,
    id: 'broadcasts.create',
    method: 'POST',
    path: '/broadcasts',
    summary: 'Soạn thông báo / create a broadcast: sent at `sendAt` (or now), or once approved',
    description:
      'A broadcaster’s broadcast always waits for a unit manager’s approval; others’ when `requireApproval` ' +
      'or BROADCAST_REQUIRE_APPROVAL says so. Quiet hours move the start unless `ignoreQuietHours`. Audited.',
    permission: 'broadcasts:write',
    scope: { kind: 'unit', in: 'body', field: 'unitCode' },
    status: 201,
    body: z.object({
      ...contentShape,
      ...targetShape,
      sendAt: isoDate.optional(),
      ignoreQuietHours: z.boolean().default(false),
      requireApproval: z.boolean().optional(),
    }),
    response: broadcastBody.extend({
      recipients: recipientsBody,
      startsAt: isoDate.nullable(),
      heldByQuietHours: z.boolean(),
    }),
    handler: async ({ body, scope, caller, deps, audit }) => {
      const target = await targetOf(body, scope);
      const needsApproval = caller.role === 'broadcaster' || body.requireApproval === true;
      const created = await createBroadcast(
        {
          text: body.text,
          textEn: body.textEn ?? null,
          format: body.format,
          imageUrl: body.imageUrl ?? null,
          buttons: (body.buttons ?? []).map((b) => ({ text: b.text, textEn: b.textEn ?? null, url: b.url })),
          target,
          createdBy: caller.actor,
          sendAt: body.sendAt ? new Date(body.sendAt) : null,
          ignoreQuietHours: body.ignoreQuietHours,
          ...(needsApproval ? { requireApproval: true } : {}),
        },
        controlDeps(deps.ctx),
      ).catch((err: unknown) => {
        if (err instanceof BroadcastInputError)
          throw invalid(
            err.problems.map((message) => ({ path: 'text', in: 'body' as const, message })),
            `Nội dung thông báo chưa hợp lệ. / ${err.en}`,
          );
        throw err;
      });
      await audit({
        action: 'broadcast.created',
        targetType: 'broadcast',
        targetId: created.id,
        unitCode: target.unitCode ?? null,
        details: { status: created.status, recipients: created.recipients.total },
      });
      const b = await Broadcast.findById(created.id).lean<BroadcastLean>();
      return {
        ...broadcastOut(b!),
        recipients: created.recipients,
        startsAt: iso(created.startsAt),
        heldByQuietHours: created.heldByQuietHours,
      };
    },
  }),

  defineRoute({
    ...BC,
    id: 'broadcasts.schedule',
    method: 'POST',
    path: '/broadcasts/:id/schedule',
    summary: 'Hẹn giờ / set when the broadcast starts (null: now)',
    description: 'While it waits for approval, or is scheduled and not started; otherwise 409. Audited.',
    permission: 'broadcasts:write',
    scope: { kind: 'object' },
    params: broadcastParams,
    errors: [409],
    body: z.object({ sendAt: isoDate.nullable(), ignoreQuietHours: z.boolean().default(false) }),
    response: broadcastBody.extend({ startsAt: isoDate.nullable(), heldByQuietHours: z.boolean() }),
    handler: async ({ params, body, scope, deps, audit }) => {
      const b = await scopedBroadcast(params.id, scope);
      const sendAt = body.sendAt ? new Date(body.sendAt) : null;
      const r = await asState(() =>
        rescheduleBroadcast(params.id, sendAt, body.ignoreQuietHours, controlDeps(deps.ctx)),
      );
      await audit({
        action: 'broadcast.scheduled',
        targetType: 'broadcast',
        targetId: params.id,
        unitCode: b.target?.unitCode ?? null,
        details: { sendAt: body.sendAt },
      });
      const now = await Broadcast.findById(params.id).lean<BroadcastLean>();
      return { ...broadcastOut(now!), startsAt: iso(r.startsAt), heldByQuietHours: r.heldByQuietHours };
    },
  }),

  defineRoute({
    ...BC,
    id: 'broadcasts.test',
    method: 'POST',
    path: '/broadcasts/:id/test',
    summary: 'Gửi thử cho chính mình / send the broadcast to the caller’s own linked chat',
    description:
      'To the Telegram or Zalo chat linked to the caller’s account, in `lang`. 409 `no_linked_chat` when the ' +
      'account has none, `channel_off` when its channel is not configured here, `refused` when the platform refuses.',
    permission: 'broadcasts:write',
    scope: { kind: 'object' },
    params: broadcastParams,
    errors: [409],
    body: z.object({ lang: z.enum(['vi', 'en']).default('vi') }),
    response: z.object({ sent: z.literal(true), channel: z.enum(BROADCAST_CHANNELS) }),
    handler: async ({ params, body, scope, caller, deps }) => {
      const b = await scopedBroadcast(params.id, scope);
      const me = await User.findById(caller.id, { linkedChat: 1 }).lean();
      const chat = me?.linkedChat;
      if (!chat)
        throw new ApiError(
          409,
          'no_linked_chat',
          'Tài khoản của Ông/Bà chưa liên kết Telegram hoặc Zalo để nhận tin thử. / Your account has no linked chat to send a test to.',
        );
      const channel = chat.channel as (typeof BROADCAST_CHANNELS)[number];
      const sender = broadcastSenders(deps.ctx)[channel];
      if (!sender)
        throw new ApiError(
          409,
          'channel_off',
          `Kênh ${channel} chưa được cấu hình. / ${channel} is not configured here.`,
        );
      const content = {
        text: b.text,
        textEn: b.textEn ?? null,
        format: b.format === 'html' ? ('html' as const) : ('text' as const),
        imageUrl: b.imageUrl ?? null,
        buttons: b.buttons.map((x) => ({ text: x.text, textEn: x.textEn ?? null, url: x.url })),
      };
      try {
        await sender.send(chat.userId, renderBroadcast(content, body.lang));
      } catch (err) {
        if (err instanceof BroadcastSendError && err.failure.kind !== 'transient')
          throw new ApiError(
            409,
            'refused',
            `Nền tảng từ chối tin thử. / The platform refused the test (${err.failure.kind}).`,
          );
        throw err;
      }
      return { sent: true as const, channel };
    },
  }),
];
