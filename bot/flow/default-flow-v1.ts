import { flowSchema, type Flow, type FlowInput } from './schema';

/**
 * `default@1`, as first published: the method's reference wording word for word
 * (docs/sipas-method.md). Published versions never change, and sessions started on it finish on
 * it; `hailong seed` installs it beside the current version so every install means the same by
 * `default@1` (exports and case alerts of its responses read its question texts). Do not edit:
 * publish a new version (./default-flow.ts).
 */
const scaleReason = (
  id: string,
  element: string,
  vi: string,
  en: string,
  next: string,
  options: Array<[string, string, string]>,
): FlowInput['nodes'][number] => ({
  id,
  element,
  type: 'multi_choice',
  text: { vi, en },
  next,
  options: options.map(([value, lvi, len]) => ({
    value,
    label: { vi: lvi, en: len },
    ...(value === 'khac' ? { other: true } : {}),
  })),
});

const dissatisfied = (to: string) => [{ when: { in: ['1', '2'] }, to }];

const input: FlowInput = {
  key: 'default',
  version: 1,
  title: {
    vi: 'Khảo sát mức độ hài lòng sau giải quyết hồ sơ',
    en: 'Satisfaction survey after a completed dossier',
  },
  start: 'consent',
  placeholders: ['ma', 'donvi', 'thutuc'],
  nodes: [
    {
      id: 'consent',
      type: 'single_choice',
      element: null,
      text: {
        vi: '{donvi} xin ý kiến về hồ sơ {ma}. 1 phút, chỉ để cải thiện phục vụ. Đồng ý chứ?',
        en: 'Feedback on dossier {ma}, 1 min, service improvement only. Agree?',
      },
      options: [
        { value: 'yes', label: { vi: 'Đồng ý', en: 'Agree' } },
        { value: 'no', label: { vi: 'Không', en: 'No' } },
      ],
      consent: { acceptValue: 'yes', declineTo: 'declined' },
      next: 'q1',
    },
    {
      id: 'declined',
      type: 'message',
      element: null,
      outcome: 'declined',
      text: {
        vi: 'Cảm ơn Ông/Bà. Chúng tôi không lưu thông tin nào. Gõ /start nếu Ông/Bà đổi ý.',
        en: 'Thank you. Nothing has been kept. Send /start if you change your mind.',
      },
    },
    {
      id: 'q1',
      element: 'TIEP_CAN',
      type: 'scale5',
      text: {
        vi: 'Nơi tiếp nhận hoặc cổng DVC có thuận tiện (hướng dẫn, chỗ ngồi, thiết bị)?',
        en: 'Was the counter or portal convenient?',
      },
      branches: dissatisfied('r1'),
      next: 'q2',
    },
    scaleReason('r1', 'TIEP_CAN', 'Chưa hài lòng vì sao?', 'Why?', 'q2', [
      ['kho_tim', 'Khó tìm, thiếu hướng dẫn', 'Hard to find, no guidance'],
      ['cho', 'Chờ lâu, thiếu chỗ', 'Long wait, no seats'],
      ['thiet_bi', 'Thiết bị, cổng lỗi', 'Equipment or portal errors'],
      ['khac', 'Khác', 'Other'],
    ]),
    {
      id: 'q2',
      element: 'TTHC',
      type: 'scale5',
      text: {
        vi: 'Giấy tờ, phí, thời hạn có công khai và đúng quy định?',
        en: 'Papers, fees, deadline published and lawful?',
      },
      branches: dissatisfied('r2'),
      next: 'q3',
    },
    scaleReason('r2', 'TTHC', 'Vướng ở đâu?', 'What was wrong?', 'q3', [
      ['them_giay', 'Đòi thêm giấy tờ', 'Extra papers demanded'],
      ['phi', 'Phí chưa rõ', 'Unclear fees'],
      ['niem_yet', 'Không niêm yết', 'Not posted'],
      ['khac', 'Khác', 'Other'],
    ]),
    {
      id: 'q3',
      element: 'CONG_CHUC',
      type: 'scale5',
      text: { vi: 'Cán bộ có lịch sự, hướng dẫn rõ trong 1 lần?', en: 'Staff polite, clear in one go?' },
      branches: dissatisfied('r3'),
      next: 'q4',
    },
    scaleReason('r3', 'CONG_CHUC', 'Điều gì chưa tốt?', 'What was bad?', 'q4', [
      ['thai_do', 'Thái độ chưa tốt', 'Poor attitude'],
      ['huong_dan', 'Hướng dẫn nhiều lần', 'Guidance took several visits'],
      ['phien_ha', 'Gây phiền hà', 'Caused trouble'],
      ['khac', 'Khác', 'Other'],
    ]),
    {
      id: 'q4',
      element: 'KET_QUA',
      type: 'scale5',
      text: { vi: 'Kết quả trả đúng hẹn, thông tin chính xác?', en: 'Result on time and correct?' },
      branches: dissatisfied('r4'),
      next: 'q5',
    },
    scaleReason('r4', 'KET_QUA', 'Vấn đề là gì?', 'Issue?', 'q5', [
      ['tre_hen', 'Trễ hẹn', 'Late'],
      ['sai', 'Sai, thiếu thông tin', 'Wrong or missing information'],
      ['khong_bao', 'Không báo khi trễ', 'Not told about the delay'],
      ['khac', 'Khác', 'Other'],
    ]),
    {
      id: 'q5',
      element: 'PAKN',
      type: 'scale5',
      notApplicable: { vi: 'Chưa góp ý', en: 'No feedback given' },
      text: {
        vi: 'Góp ý, phản ánh (nếu có) được tiếp nhận, trả lời thỏa đáng?',
        en: 'Feedback handled well, if any?',
      },
      branches: dissatisfied('r5'),
      next: 'q6',
    },
    scaleReason('r5', 'PAKN', 'Chưa thỏa đáng ở đâu?', 'What was lacking?', 'q6', [
      ['khong_kenh', 'Không biết góp ý ở đâu', 'Did not know where to give feedback'],
      ['khong_tra_loi', 'Không được trả lời', 'No answer'],
      ['cham', 'Trả lời chậm', 'Slow answer'],
      ['khac', 'Khác', 'Other'],
    ]),
    {
      id: 'q6',
      element: 'TONG_THE',
      type: 'scale5',
      text: { vi: 'Nhìn chung Ông/Bà hài lòng ở mức nào?', en: 'Overall satisfaction?' },
      next: 'q7',
    },
    {
      id: 'q7',
      element: null,
      type: 'free_text',
      optional: true,
      text: { vi: "Góp ý thêm? (gõ 'bỏ qua')", en: "Any suggestion? (or 'skip')" },
      next: 'thanks',
    },
    {
      id: 'thanks',
      element: null,
      type: 'message',
      outcome: 'completed',
      text: { vi: 'Cảm ơn Ông/Bà! Ý kiến đã gửi đến {donvi}.', en: 'Thank you! Sent to {donvi}.' },
    },
  ],
};

export const defaultFlowV1: Flow = flowSchema.parse(input);
