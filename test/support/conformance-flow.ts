import { flowSchema, type Flow } from '../../bot/flow/schema';

/**
 * A flow with every question type and message kind the engine has: consent (accept/decline), a
 * message in the middle, a single choice, a multi-choice with "Khác", a scale with "not
 * applicable" (six choices: more than Zalo's five buttons), a rating, a number, a required and
 * an optional free text, and a thank-you with dissatisfied texts. Each text starts with its node
 * id in brackets so a test can tell which question a channel shows.
 */
export const conformanceFlow: Flow = flowSchema.parse({
  key: 'default',
  version: 1,
  title: { vi: 'Kiểm tra mọi loại câu hỏi', en: 'Every question type' },
  start: 'consent',
  nodes: [
    {
      id: 'consent',
      type: 'single_choice',
      text: {
        vi: '[consent] {donvi} mời Ông/Bà cho ý kiến về hồ sơ {ma}. Ông/Bà có đồng ý tham gia không?',
        en: '[consent] Do you agree to take part?',
      },
      options: [
        { value: 'yes', label: { vi: 'Đồng ý', en: 'Yes' } },
        { value: 'no', label: { vi: 'Không đồng ý', en: 'No' } },
      ],
      consent: { acceptValue: 'yes', declineTo: 'declined' },
      next: 'intro',
    },
    {
      id: 'declined',
      type: 'message',
      outcome: 'declined',
      text: {
        vi: '[declined] Cảm ơn Ông/Bà, chúng tôi không lưu thông tin nào.',
        en: '[declined] Thank you; nothing was kept.',
      },
    },
    {
      id: 'intro',
      type: 'message',
      text: { vi: '[intro] Xin cảm ơn, khảo sát bắt đầu.', en: '[intro] Thank you, here we go.' },
      next: 'c1',
    },
    {
      id: 'c1',
      type: 'single_choice',
      text: { vi: '[c1] Ông/Bà nộp hồ sơ bằng cách nào?', en: '[c1] How did you submit?' },
      options: [
        { value: 'a', label: { vi: 'Tại quầy', en: 'At the counter' } },
        { value: 'b', label: { vi: 'Trực tuyến', en: 'Online' } },
        { value: 'c', label: { vi: 'Qua bưu điện', en: 'By post' } },
      ],
      next: 'm1',
    },
    {
      id: 'm1',
      element: 'TIEP_CAN',
      type: 'multi_choice',
      text: { vi: '[m1] Ông/Bà gặp khó khăn gì?', en: '[m1] What was difficult?' },
      options: [
        { value: 'a', label: { vi: 'Chờ lâu', en: 'Long wait' } },
        { value: 'b', label: { vi: 'Thiếu chỉ dẫn', en: 'No directions' } },
        { value: 'khac', label: { vi: 'Lý do khác', en: 'Another reason' }, other: true },
      ],
      next: 's1',
    },
    {
      id: 's1',
      element: 'PAKN',
      type: 'scale5',
      notApplicable: { vi: 'Chưa góp ý', en: 'No feedback given' },
      text: {
        vi: '[s1] Ông/Bà hài lòng ở mức nào với việc trả lời góp ý?',
        en: '[s1] How satisfied with the answer to your feedback?',
      },
      next: 'rt',
    },
    {
      id: 'rt',
      element: 'TONG_THE',
      type: 'rating',
      max: 5,
      text: { vi: '[rt] Ông/Bà chấm mấy sao?', en: '[rt] How many stars?' },
      next: 'nb',
    },
    {
      id: 'nb',
      type: 'number',
      min: 0,
      max: 100,
      text: { vi: '[nb] Ông/Bà đã đi lại mấy lần?', en: '[nb] How many visits?' },
      next: 'ft',
    },
    {
      id: 'ft',
      type: 'free_text',
      text: { vi: '[ft] Xin Ông/Bà cho biết tên thủ tục.', en: '[ft] Which procedure?' },
      next: 'op',
    },
    {
      id: 'op',
      type: 'free_text',
      optional: true,
      text: { vi: '[op] Ông/Bà có góp ý gì thêm không?', en: '[op] Anything else?' },
      next: 'thanks',
    },
    {
      id: 'thanks',
      type: 'message',
      outcome: 'completed',
      text: { vi: '[thanks] Cảm ơn Ông/Bà.', en: '[thanks] Thank you.' },
      dissatisfied: {
        reachable: {
          vi: '[thanks-reachable] Lãnh đạo {donvi} sẽ xem ý kiến và có thể liên hệ lại qua kênh này.',
          en: '[thanks-reachable] The head may contact you here.',
        },
        unreachable: {
          vi: '[thanks-unreachable] Lãnh đạo {donvi} sẽ xem ý kiến; trang web không lưu thông tin liên lạc.',
          en: '[thanks-unreachable] The head will see it; no contact kept.',
        },
      },
    },
  ],
});
