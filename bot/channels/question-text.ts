import type { QuestionOutbound } from '../engine/types';

/**
 * A question's text as the chat apps show it: "Câu 3/7" on its own first line when the engine
 * gives the question's place in the flow (the web chat draws it apart, bot/channels/web/render.ts).
 */
export function questionText(q: Pick<QuestionOutbound, 'text' | 'progress'>): string {
  return q.progress ? `${q.progress.label}\n${q.text}` : q.text;
}
