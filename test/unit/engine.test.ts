import { decodeAction, encodeAction } from '../../bot/engine/callback-data';
import { handle, startSession } from '../../bot/engine/engine';
import type { ChoiceAction, EngineResult, EngineState, Outbound } from '../../bot/engine/types';
import { defaultFlow } from '../../bot/flow/default-flow';

const vars = { ma: '000.00.19.H57-250101-0001', donvi: 'UBND xã Quảng Thái', thutuc: 'Chứng thực' };
const flow = defaultFlow;

function question(r: EngineResult): Extract<Outbound, { kind: 'question' }> {
  const q = r.messages.filter((m): m is Extract<Outbound, { kind: 'question' }> => m.kind === 'question').at(-1);
  if (!q) throw new Error(`no question in ${JSON.stringify(r.messages)}`);
  return q;
}
function actionFor(r: EngineResult, value: string, kind: ChoiceAction['kind'] = 'pick'): ChoiceAction {
  const q = question(r);
  const found = q.choices.flat().find((c) => c.action.kind === kind && ('value' in c.action ? c.action.value === value : true));
  if (!found) throw new Error(`no ${kind} ${value} on ${q.node}`);
  return found.action;
}
function pick(prev: EngineResult, value: string): EngineResult {
  return handle(flow, prev.state, { kind: 'action', action: actionFor(prev, value) });
}
function begin(lang: 'vi' | 'en' = 'vi'): EngineResult {
  return startSession(flow, { lang, vars });
}

describe('conversation engine over the default flow', () => {
  test('starts with the consent question naming the unit and the dossier', () => {
    const r = begin();
    const q = question(r);
    expect(q.node).toBe('consent');
    expect(q.text).toBe(`${vars.donvi} xin ý kiến về hồ sơ ${vars.ma}. 1 phút, chỉ để cải thiện phục vụ. Đồng ý chứ?`);
    expect(q.choices.flat().map((c) => c.label)).toEqual(['Đồng ý', 'Không']);
    expect(r.state.status).toBe('active');
  });

  test('declining consent ends the survey and keeps no answer', () => {
    const r = pick(begin(), 'no');
    expect(r.finished).toBe('declined');
    expect(r.answers).toEqual([]);
    expect(r.state.answers).toEqual({});
    expect(r.messages.at(-1)).toMatchObject({ kind: 'text', text: expect.stringContaining('không lưu') });
  });

  test('a fully satisfied citizen goes straight through q1..q7 to the thank-you naming the unit', () => {
    let r = pick(begin(), 'yes');
    expect(r.consented).toBe(true);
    const seen: string[] = [];
    for (const node of ['q1', 'q2', 'q3', 'q4', 'q5', 'q6']) {
      expect(question(r).node).toBe(node);
      seen.push(node);
      r = pick(r, '5');
      expect(r.answers).toEqual([expect.objectContaining({ questionId: node, value: 5 })]);
    }
    expect(question(r).node).toBe('q7');
    r = handle(flow, r.state, { kind: 'text', text: 'Bỏ qua' });
    expect(r.answers).toEqual([]);
    expect(r.finished).toBe('completed');
    expect(r.messages).toEqual([{ kind: 'text', text: `Cảm ơn Ông/Bà! Ý kiến đã gửi đến ${vars.donvi}.` }]);
    expect(Object.keys(r.state.answers).sort()).toEqual(seen);
  });

  test.each([
    ['q1', 'r1', 'TIEP_CAN', 'cho'],
    ['q2', 'r2', 'TTHC', 'phi'],
    ['q3', 'r3', 'CONG_CHUC', 'thai_do'],
    ['q4', 'r4', 'KET_QUA', 'tre_hen'],
    ['q5', 'r5', 'PAKN', 'cham'],
  ])('a 1 or 2 on %s asks why (%s) and then continues', (q, reason, element, value) => {
    for (const score of ['1', '2']) {
      let r = pick(begin(), 'yes');
      while (question(r).node !== q) r = pick(r, '4');
      r = pick(r, score);
      expect(question(r).node).toBe(reason);
      expect(question(r).multi).toBe(true);
      r = handle(flow, r.state, { kind: 'action', action: actionFor(r, value, 'toggle') });
      expect(r.updateChoices?.flat().find((c) => c.action.kind === 'toggle' && c.action.value === value)?.selected).toBe(true);
      const done = r.updateChoices!.flat().find((c) => c.action.kind === 'done')!.action;
      r = handle(flow, r.state, { kind: 'action', action: done });
      expect(r.answers).toEqual([{ questionId: reason, element, type: 'multi_choice', value: [value], text: null }]);
      const next = `q${Number(q.slice(1)) + 1}`;
      expect(question(r).node).toBe(next);
    }
  });

  test('a 3 does not ask why', () => {
    let r = pick(begin(), 'yes');
    r = pick(r, '3');
    expect(question(r).node).toBe('q2');
  });

  test('q5 accepts "not applicable" as 0 and does not branch', () => {
    let r = pick(begin(), 'yes');
    while (question(r).node !== 'q5') r = pick(r, '5');
    expect(question(r).choices.flat().map((c) => c.label)).toContain('Chưa góp ý');
    r = pick(r, '0');
    expect(r.answers[0]).toMatchObject({ questionId: 'q5', element: 'PAKN', value: 0 });
    expect(question(r).node).toBe('q6');
  });

  test('"Khác" asks for free text and records it with the selection', () => {
    let r = pick(pick(begin(), 'yes'), '1');
    expect(question(r).node).toBe('r1');
    r = handle(flow, r.state, { kind: 'text', text: '2, 4' });
    expect(r.answers).toEqual([]);
    expect(r.messages).toEqual([{ kind: 'text', text: 'Xin Ông/Bà ghi rõ lý do khác:' }]);
    r = handle(flow, r.state, { kind: 'text', text: 'Không có wifi' });
    expect(r.answers).toEqual([{ questionId: 'r1', element: 'TIEP_CAN', type: 'multi_choice', value: ['cho', 'khac'], text: 'Không có wifi' }]);
    expect(question(r).node).toBe('q2');
  });

  test('pressing Done with nothing selected asks to choose and changes nothing', () => {
    let r = pick(pick(begin(), 'yes'), '2');
    const before = r.state;
    r = handle(flow, r.state, { kind: 'action', action: { kind: 'done', step: before.step, node: 'r1' } });
    expect(r.unchanged).toBe(true);
    expect(r.ack).toContain('Xin chọn ít nhất 1');
    expect(r.state).toBe(before);
  });

  test('typed answers work: scale value, option number and label', () => {
    let r = handle(flow, begin().state, { kind: 'text', text: '1' });
    expect(question(r).node).toBe('q1');
    r = handle(flow, r.state, { kind: 'text', text: '4' });
    expect(r.answers[0]).toMatchObject({ questionId: 'q1', value: 4 });
    r = handle(flow, r.state, { kind: 'text', text: 'rat hai long' });
    expect(r.answers[0]).toMatchObject({ questionId: 'q2', value: 5 });
  });

  test('re-asks the question when the reply is not an option', () => {
    const start = begin();
    const r = handle(flow, start.state, { kind: 'text', text: 'có lẽ' });
    expect(r.unchanged).toBe(true);
    expect(r.state).toBe(start.state);
    expect(r.messages[0]).toEqual({ kind: 'text', text: expect.stringContaining('Xin vui lòng chọn') });
    expect(question(r).node).toBe('consent');
  });

  test('a button from an old question is answered "câu hỏi này đã được trả lời" and changes nothing', () => {
    const first = begin();
    const r1 = pick(first, 'yes');
    const again = handle(flow, r1.state, { kind: 'action', action: actionFor(first, 'yes') });
    expect(again.ack).toBe('Câu hỏi này đã được trả lời.');
    expect(again.unchanged).toBe(true);
    expect(again.state).toBe(r1.state);
    expect(again.messages).toEqual([]);
  });

  test('a button after the survey finished is stale', () => {
    let r = pick(begin(), 'yes');
    for (let i = 0; i < 6; i++) r = pick(r, '5');
    const q7 = r;
    r = handle(flow, r.state, { kind: 'text', text: 'Rất tốt' });
    expect(r.finished).toBe('completed');
    expect(r.answers).toEqual([{ questionId: 'q7', element: null, type: 'free_text', value: null, text: 'Rất tốt' }]);
    const late = handle(flow, r.state, { kind: 'action', action: { kind: 'pick', step: q7.state.step - 1, node: 'q6', value: '1' } });
    expect(late.ack).toBe('Câu hỏi này đã được trả lời.');
    expect(late.answers).toEqual([]);
  });

  test('/stop ends the survey, /help explains and repeats the question, /lang switches to English', () => {
    const s = begin();
    const help = handle(flow, s.state, { kind: 'command', name: 'help' });
    expect(help.messages[0]).toMatchObject({ kind: 'text', text: expect.stringContaining('/stop') });
    expect(question(help).node).toBe('consent');
    const en = handle(flow, s.state, { kind: 'command', name: 'lang' });
    expect(en.state.lang).toBe('en');
    expect(question(en).text).toBe(`Feedback on dossier ${vars.ma}, 1 min, service improvement only. Agree?`);
    const stop = handle(flow, s.state, { kind: 'command', name: 'stop' });
    expect(stop.finished).toBe('stopped');
    expect(stop.state.status).toBe('stopped');
  });

  test('the whole survey in English uses English texts', () => {
    const r = pick(begin('en'), 'yes');
    expect(question(r).text).toBe('Was the counter or portal convenient?');
    expect(question(r).choices.flat()[3].label).toBe('4. Satisfied');
  });

  test('callback data round-trips and fits 64 bytes', () => {
    const a: ChoiceAction = { kind: 'toggle', step: 1_679_615, node: 'abcdefghijklmnop', value: 'abcdefghijklmnop' };
    const s = encodeAction(a);
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(64);
    expect(decodeAction(s)).toEqual(a);
    expect(decodeAction('p:1:q1')).toBeNull();
    expect(decodeAction('x:1:q1:1')).toBeNull();
    expect(decodeAction('p:1:Q1:1')).toBeNull();
  });

  test('the engine never mutates the state it is given', () => {
    const s: EngineState = begin().state;
    const frozen = JSON.stringify(s);
    pick({ state: s, messages: begin().messages, answers: [] }, 'yes');
    expect(JSON.stringify(s)).toBe(frozen);
  });
});
