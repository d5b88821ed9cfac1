import { Schema, model, type InferSchemaType } from 'mongoose';

/**
 * One answer to one question of a response. Idempotent by (responseId, questionId): a retried
 * or duplicated job overwrites the same document instead of adding one.
 */
const answerSchema = new Schema(
  {
    responseId: { type: String, required: true },
    questionId: { type: String, required: true },
    /** Index element code (TIEP_CAN, TTHC, CONG_CHUC, KET_QUA, PAKN, TONG_THE) or null. */
    element: { type: String, default: null },
    type: { type: String, required: true },
    /** Scale/rating/number: a number (0 = not applicable); single choice: a string; multi: strings. */
    value: { type: Schema.Types.Mixed, default: null },
    /** Free text ("Khác", suggestion). Personal data may hide here: never logged. */
    text: { type: String, default: null },
    answeredAt: { type: Date, required: true },
    /**
     * Copied from the response when it completes (workers/jobs/completed-response-writer.ts): its unit and its
     * Asia/Ho_Chi_Minh day of completion. Null while the survey is in progress. A rollup bucket
     * reads its answers by this equality: FerretDB 1.24 uses no index for `responseId: {$in}`.
     */
    unitCode: { type: String, default: null },
    day: { type: String, default: null },
  },
  { timestamps: true, minimize: false },
);
answerSchema.index({ responseId: 1, questionId: 1 }, { unique: true });
answerSchema.index({ element: 1 });
answerSchema.index({ unitCode: 1, day: 1 });

export type AnswerDoc = InferSchemaType<typeof answerSchema>;
export const Answer = model('Answer', answerSchema);
