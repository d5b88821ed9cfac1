import { defaultFlowV1 } from './default-flow-v1';
import { flowSchema, type Flow, type FlowInput } from './schema';

/**
 * The default survey (`default@2`): the method's survey (docs/sipas-method.md), unchanged (consent, one
 * five-level question per element with a "why?" multi-select after a 1 or 2, the overall
 * question, an optional suggestion, a thank-you; the same node ids, element codes and option
 * values as `default@1`), in wording that reads naturally with its answers: each element is
 * asked as "Ông/Bà hài lòng ở mức nào với …?" (answered on the satisfaction scale), reasons are
 * options, the formal register of a state body, no abbreviations such as "DVC". The thank-you
 * tells a citizen whose answers open a complaint case that the unit's head will see it. The
 * consent question says what Law 91/2025/QH15 asks a consent to say: the purpose, that answers are
 * kept apart from identity, the law, and how to see (/dulieu) and erase (/xoa) what is held.
 */
const reasons = (
  id: string,
  element: string,
  next: string,
  options: Array<[string, string, string]>,
): FlowInput['nodes'][number] => ({
  id,
  element,
  type: 'multi_choice',
  text: { vi: 'Ông/Bà chưa hài lòng về điều gì?', en: 'What were you not satisfied with?' },
  next,
  options: [
    ...options.map(([value, vi, en]) => ({ value, label: { vi, en } })),
    { value: 'khac', label: { vi: 'Lý do khác', en: 'Another reason' }, other: true },
  ],
});

const dissatisfied = (to: string) => [{ when: { in: ['1', '2'] }, to }];

const input: FlowInput = {
  key: 'default',
  version: 2,
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
        vi:
          '{donvi} trân trọng mời Ông/Bà cho ý kiến về việc giải quyết hồ sơ {ma}. Khảo sát mất khoảng 1 phút; ' +
          'ý kiến của Ông/Bà chỉ được dùng để cải thiện chất lượng phục vụ và xử lý phản ánh (nếu có). ' +
          'Câu trả lời được lưu tách riêng với thông tin liên lạc của Ông/Bà; dữ liệu cá nhân được xử lý theo ' +
          'Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15. Ông/Bà có thể gửi /dulieu để xem dữ liệu đang được lưu ' +
          'và /xoa để yêu cầu xóa bất cứ lúc nào. Ông/Bà có đồng ý tham gia không?',
        en:
          '{donvi} invites you to give your opinion on how dossier {ma} was handled. It takes about one minute; ' +
          'your answers are used only to improve the service and to handle any complaint. ' +
          'They are stored apart from your contact details, and your personal data is processed under the ' +
          'Personal Data Protection Law No. 91/2025/QH15. Send /dulieu at any time to see what is held about you ' +
          'and /xoa to have it erased. Do you agree to take part?',
      },
      options: [
        { value: 'yes', label: { vi: 'Đồng ý', en: 'Yes, I agree' } },
        { value: 'no', label: { vi: 'Không đồng ý', en: 'No, thank you' } },
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
        vi: 'Cảm ơn Ông/Bà. Chúng tôi không lưu thông tin nào của lần khảo sát này. Nếu thay đổi ý kiến, Ông/Bà có thể mở lại đường dẫn khảo sát hoặc gửi /start.',
        en: 'Thank you. Nothing from this survey has been kept. If you change your mind, open the survey link again or send /start.',
      },
    },
    {
      id: 'q1',
      element: 'TIEP_CAN',
      type: 'scale5',
      text: {
        vi: 'Ông/Bà hài lòng ở mức nào với việc tiếp cận dịch vụ tại nơi tiếp nhận hồ sơ hoặc trên cổng dịch vụ công trực tuyến (chỉ dẫn, chỗ ngồi chờ, trang thiết bị)?',
        en: 'How satisfied are you with access to the service at the reception counter or on the online public service portal (directions, waiting seats, equipment)?',
      },
      branches: dissatisfied('r1'),
      next: 'q2',
    },
    reasons('r1', 'TIEP_CAN', 'q2', [
      ['kho_tim', 'Khó tìm nơi tiếp nhận, thiếu chỉ dẫn', 'Hard to find, too few directions'],
      ['cho', 'Phải chờ lâu, thiếu chỗ ngồi', 'Long wait, too few seats'],
      [
        'thiet_bi',
        'Trang thiết bị hoặc cổng trực tuyến bị lỗi',
        'Equipment or the online portal did not work',
      ],
    ]),
    {
      id: 'q2',
      element: 'TTHC',
      type: 'scale5',
      text: {
        vi: 'Ông/Bà hài lòng ở mức nào với việc niêm yết công khai và thực hiện đúng quy định về giấy tờ, phí, lệ phí và thời hạn giải quyết?',
        en: 'How satisfied are you that the required documents, fees and processing time were publicly posted and applied as the rules say?',
      },
      branches: dissatisfied('r2'),
      next: 'q3',
    },
    reasons('r2', 'TTHC', 'q3', [
      [
        'them_giay',
        'Bị yêu cầu nộp thêm giấy tờ ngoài quy định',
        'Asked for documents the rules do not require',
      ],
      ['phi', 'Phí, lệ phí chưa rõ ràng', 'Fees were unclear'],
      ['niem_yet', 'Thủ tục không được niêm yết công khai', 'The procedure was not publicly posted'],
    ]),
    {
      id: 'q3',
      element: 'CONG_CHUC',
      type: 'scale5',
      text: {
        vi: 'Ông/Bà hài lòng ở mức nào với cán bộ, công chức tiếp nhận và giải quyết hồ sơ (thái độ lịch sự, hướng dẫn đầy đủ, rõ ràng ngay trong một lần)?',
        en: 'How satisfied are you with the officials who received and handled your dossier (courtesy, full and clear guidance the first time)?',
      },
      branches: dissatisfied('r3'),
      next: 'q4',
    },
    reasons('r3', 'CONG_CHUC', 'q4', [
      ['thai_do', 'Thái độ chưa lịch sự', 'Discourteous attitude'],
      ['huong_dan', 'Hướng dẫn chưa rõ, phải đi lại nhiều lần', 'Unclear guidance, several visits needed'],
      ['phien_ha', 'Gây phiền hà, sách nhiễu', 'Caused trouble or harassment'],
    ]),
    {
      id: 'q4',
      element: 'KET_QUA',
      type: 'scale5',
      text: {
        vi: 'Ông/Bà hài lòng ở mức nào với kết quả giải quyết hồ sơ (trả đúng hẹn, thông tin đầy đủ, chính xác)?',
        en: 'How satisfied are you with the result (returned on time, with complete and accurate information)?',
      },
      branches: dissatisfied('r4'),
      next: 'q5',
    },
    reasons('r4', 'KET_QUA', 'q5', [
      ['tre_hen', 'Trả kết quả trễ hẹn', 'The result was late'],
      ['sai', 'Kết quả sai hoặc thiếu thông tin', 'Wrong or missing information'],
      ['khong_bao', 'Không được thông báo khi trễ hẹn', 'Not told about the delay'],
    ]),
    {
      id: 'q5',
      element: 'PAKN',
      type: 'scale5',
      notApplicable: { vi: 'Chưa góp ý, phản ánh', en: 'I have not given feedback' },
      text: {
        vi: 'Nếu Ông/Bà đã góp ý, phản ánh hoặc kiến nghị: Ông/Bà hài lòng ở mức nào với việc tiếp nhận và trả lời?',
        en: 'If you gave feedback or made a complaint: how satisfied are you with how it was received and answered?',
      },
      branches: dissatisfied('r5'),
      next: 'q6',
    },
    reasons('r5', 'PAKN', 'q6', [
      ['khong_kenh', 'Không biết góp ý, phản ánh ở đâu', 'Did not know where to give feedback'],
      ['khong_tra_loi', 'Không được trả lời', 'Received no answer'],
      ['cham', 'Được trả lời chậm', 'The answer was slow'],
    ]),
    {
      id: 'q6',
      element: 'TONG_THE',
      type: 'scale5',
      text: {
        vi: 'Nhìn chung, Ông/Bà hài lòng ở mức nào với việc giải quyết hồ sơ này?',
        en: 'Overall, how satisfied are you with how this dossier was handled?',
      },
      next: 'q7',
    },
    {
      id: 'q7',
      element: null,
      type: 'free_text',
      optional: true,
      text: {
        vi: 'Ông/Bà có góp ý gì thêm để chúng tôi phục vụ tốt hơn không? (không bắt buộc)',
        en: 'Do you have any other suggestion to help us serve you better? (optional)',
      },
      next: 'thanks',
    },
    {
      id: 'thanks',
      element: null,
      type: 'message',
      outcome: 'completed',
      text: {
        vi: 'Trân trọng cảm ơn Ông/Bà đã dành thời gian cho ý kiến. Ý kiến của Ông/Bà đã được gửi đến {donvi}.',
        en: 'Thank you for your time. Your feedback has been sent to {donvi}.',
      },
      dissatisfied: {
        reachable: {
          vi:
            'Trân trọng cảm ơn Ông/Bà đã cho ý kiến. Chúng tôi rất tiếc vì Ông/Bà chưa hài lòng. Ý kiến này sẽ được chuyển đến lãnh đạo {donvi} ' +
            'để xem xét, xử lý; đơn vị có thể liên hệ lại với Ông/Bà qua kênh này để làm rõ và thông báo kết quả.',
          en:
            'Thank you for your feedback; we are sorry you were not satisfied. It will be passed to the head of {donvi} for review, ' +
            'and the office may contact you through this chat to follow up and tell you the outcome.',
        },
        unreachable: {
          vi:
            'Trân trọng cảm ơn Ông/Bà đã cho ý kiến. Chúng tôi rất tiếc vì Ông/Bà chưa hài lòng. Ý kiến này sẽ được chuyển đến lãnh đạo {donvi} ' +
            'để xem xét, xử lý. Khảo sát trên trang web không lưu thông tin liên lạc nên đơn vị không thể liên hệ lại với Ông/Bà; ' +
            'nếu cần trao đổi thêm, xin Ông/Bà liên hệ trực tiếp nơi tiếp nhận hồ sơ.',
          en:
            'Thank you for your feedback; we are sorry you were not satisfied. It will be passed to the head of {donvi} for review. ' +
            'The web survey keeps no contact details, so the office cannot contact you; to discuss it further, please contact the office where you submitted your dossier.',
        },
      },
    },
  ],
};

export const defaultFlow: Flow = flowSchema.parse(input);

/**
 * Every published version of the default flow, oldest first: `hailong seed` installs each one
 * that is missing (never changing one already there), so new surveys start on the newest and a
 * survey started on an older version finishes on it.
 */
export const DEFAULT_FLOW_VERSIONS: readonly Flow[] = [defaultFlowV1, defaultFlow];

/** Placeholder values when a citizen starts without a dossier (plain /start). */
export const GENERAL_VARS = {
  vi: { ma: 'vừa giải quyết', donvi: 'Bộ phận Một cửa', thutuc: '' },
  en: { ma: '(recent)', donvi: 'the one-stop shop', thutuc: '' },
} as const;
