import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * "Bạn nói, chúng tôi làm" (you said, we did): a short note a unit's manager writes on what the
 * unit changed in answer to the feedback ("thêm ghế chờ", "niêm yết phí"), tied to one SIPAS
 * element and the Asia/Ho_Chi_Minh day it took effect. Published on the unit's results page
 * beside the trend (bot/http/public), so its text is the unit's, never a citizen's.
 */
export const ACTION_NOTE_MAX_CHARS = 280;

const actionNoteSchema = new Schema(
  {
    unitCode: { type: String, required: true },
    /** A SIPAS element code (TIEP_CAN, TTHC, CONG_CHUC, KET_QUA, PAKN, TONG_THE). */
    element: { type: String, required: true },
    /** 'YYYY-MM-DD', Asia/Ho_Chi_Minh. */
    date: { type: String, required: true },
    text: { type: String, required: true, maxlength: ACTION_NOTE_MAX_CHARS },
    /** The actor who wrote it (a username or `key:<id>`), as in the audit log. */
    createdBy: { type: String, required: true },
  },
  { timestamps: true, collection: 'action_notes' },
);
actionNoteSchema.index({ unitCode: 1, date: -1 });

export type ActionNoteDoc = InferSchemaType<typeof actionNoteSchema>;
export const ActionNote = model('ActionNote', actionNoteSchema);
