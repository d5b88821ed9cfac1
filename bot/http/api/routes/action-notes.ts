import { Types } from 'mongoose';
import { z } from 'zod';
import { ACTION_NOTE_MAX_CHARS, ActionNote, type ActionNoteDoc } from '../../../../models/action-note';
import { ELEMENTS } from '../../../../indices/formula';
import { notFound } from '../errors';
import { defineRoute } from '../route';
import { day, isoDate, noContent, unitCode } from '../schemas';

/**
 * "Bạn nói, chúng tôi làm": what a unit changed in answer to the feedback, tied to a SIPAS element
 * and a day; published on the unit's results page beside the trend (bot/http/public). Written by
 * the unit's managers (and the district, the admin); every creation and deletion is audited.
 */
const noteBody = z
  .object({
    id: z.string(),
    unitCode,
    element: z.enum(ELEMENTS),
    date: day,
    text: z.string(),
    createdBy: z.string(),
    createdAt: isoDate,
  })
  .meta({ id: 'ActionNote' });

const noteOut = (n: ActionNoteDoc & { _id: Types.ObjectId }): z.output<typeof noteBody> => ({
  id: n._id.toHexString(),
  unitCode: n.unitCode,
  element: n.element as (typeof ELEMENTS)[number],
  date: n.date,
  text: n.text,
  createdBy: n.createdBy,
  createdAt: n.createdAt.toISOString(),
});

const byId = z.object({ id: z.string().regex(/^[a-f0-9]{24}$/, 'expected a note id (24 hex characters)') });

export const actionNoteRoutes = [
  defineRoute({
    id: 'actionNotes.list',
    method: 'GET',
    path: '/action-notes',
    tag: 'action-notes',
    summary: 'Bạn nói, chúng tôi làm / what the caller’s units changed in answer to the feedback',
    description:
      'Newest first. `unit` keeps one unit’s notes (a unit outside the caller’s units lists nothing).',
    auth: 'any',
    permission: 'indices:read',
    scope: { kind: 'list' },
    query: z.object({ unit: unitCode.optional() }),
    response: z.object({ notes: z.array(noteBody) }),
    handler: async ({ query, scope }) => {
      if (query.unit && !(await scope.allows(query.unit))) return { notes: [] };
      const filter = query.unit ? { unitCode: query.unit } : await scope.filter();
      const notes = await ActionNote.find(filter).sort({ date: -1, _id: -1 }).limit(500).lean();
      return { notes: notes.map(noteOut) };
    },
  }),

  defineRoute({
    id: 'actionNotes.create',
    method: 'POST',
    path: '/action-notes',
    tag: 'action-notes',
    summary: 'Ghi một thay đổi đã thực hiện / record what the unit changed (shown on its public page)',
    description:
      'The text is published as written on the unit’s results page: no citizen’s name, phone or words.',
    auth: 'any',
    permission: 'actionNotes:write',
    scope: { kind: 'unit', in: 'body', field: 'unitCode' },
    status: 201,
    body: z.object({
      unitCode,
      element: z.enum(ELEMENTS),
      date: day,
      text: z.string().trim().min(3).max(ACTION_NOTE_MAX_CHARS),
    }),
    response: noteBody,
    handler: async ({ body, caller, audit }) => {
      const doc = await ActionNote.create({ ...body, createdBy: caller.actor });
      await audit({
        action: 'actionNote.created',
        targetType: 'actionNote',
        targetId: doc._id.toHexString(),
        unitCode: body.unitCode,
        details: { element: body.element, date: body.date },
      });
      return noteOut(doc.toObject());
    },
  }),

  defineRoute({
    id: 'actionNotes.delete',
    method: 'DELETE',
    path: '/action-notes/:id',
    tag: 'action-notes',
    summary: 'Xoá một ghi nhận / delete a note (it leaves the public page)',
    auth: 'any',
    permission: 'actionNotes:write',
    scope: { kind: 'object' },
    status: 204,
    params: byId,
    response: noContent,
    handler: async ({ params, scope, audit }) => {
      const doc = await ActionNote.findById(params.id).lean();
      if (!doc || !(await scope.allows(doc.unitCode))) throw notFound();
      await ActionNote.deleteOne({ _id: doc._id });
      await audit({
        action: 'actionNote.deleted',
        targetType: 'actionNote',
        targetId: params.id,
        unitCode: doc.unitCode,
        details: { element: doc.element, date: doc.date },
      });
      return undefined;
    },
  }),
];
