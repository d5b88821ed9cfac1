import { countVi, percentVi, periodLabelVi } from './format';
import type { UnitResults } from './published';

/**
 * The awareness campaign's broadcasts (tuyên truyền): why the survey exists, how to answer, and
 * the unit's latest published results. Pure: the caller passes the unit's links and its published
 * figures, so a template never shows a figure the public page would withhold.
 */
export const BROADCAST_TEMPLATES = ['muc-dich', 'cach-tra-loi', 'ket-qua'] as const;
export type BroadcastTemplate = (typeof BROADCAST_TEMPLATES)[number];

export interface TemplateInput {
  unitName: string;
  /** The unit's own web-chat survey (bot/survey/links.ts unitWebLink). */
  surveyLink: string;
  /** The unit's public results page, /ket-qua/<unit>. */
  resultsLink: string;
  /** Published results (bot/http/public/published.ts), for "ket-qua". */
  results?: Pick<UnitResults, 'periods'> | null;
}

export interface TemplateContent {
  text: string;
  textEn: string;
  buttons: Array<{ text: string; url: string }>;
}

export class TemplateUnavailableError extends Error {}

export function isBroadcastTemplate(name: string): name is BroadcastTemplate {
  return (BROADCAST_TEMPLATES as readonly string[]).includes(name);
}

export function renderTemplate(name: BroadcastTemplate, input: TemplateInput): TemplateContent {
  const survey = { text: 'Đánh giá / Rate', url: input.surveyLink };
  const results = { text: 'Xem kết quả / Results', url: input.resultsLink };
  switch (name) {
    case 'muc-dich':
      return {
        text:
          `${input.unitName} trân trọng đề nghị Quý ông/bà dành một phút đánh giá mức độ hài lòng ` +
          'sau khi giải quyết thủ tục hành chính. Ý kiến của Quý ông/bà được tổng hợp thành chỉ số ' +
          'hài lòng của đơn vị, công khai hằng tháng, và được dùng để cải thiện cách phục vụ. ' +
          'Câu trả lời được lưu tách khỏi thông tin liên lạc của Quý ông/bà.',
        textEn:
          `${input.unitName} kindly asks you to take a minute to rate your satisfaction after an ` +
          'administrative procedure. Answers make up the unit’s satisfaction index, published every ' +
          'month, and are used to improve the service. Answers are kept apart from your contact details.',
        buttons: [survey, results],
      };
    case 'cach-tra-loi':
      return {
        text:
          'Cách đánh giá: sau khi nhận kết quả hồ sơ, Quý ông/bà quét mã QR trên phiếu hẹn hoặc tại ' +
          'quầy, hoặc bấm nút dưới đây, rồi chọn câu trả lời cho từng câu hỏi ngắn (khoảng 2 phút). ' +
          'Quý ông/bà có thể dừng bất cứ lúc nào bằng cách gửi "dừng".',
        textEn:
          'How to answer: after receiving your dossier’s result, scan the QR code on the receipt or at ' +
          'the counter, or tap the button below, then pick an answer to each short question (about ' +
          '2 minutes). Send "stop" at any time to stop.',
        buttons: [survey],
      };
    case 'ket-qua': {
      const latest = input.results?.periods.find((p) => p.published && p.overall);
      if (!latest?.overall || latest.responses === null)
        throw new TemplateUnavailableError('no published result yet');
      const label = periodLabelVi(latest);
      const index = percentVi(latest.overall.index);
      const n = countVi(latest.responses);
      return {
        text:
          `${label}, chỉ số hài lòng của ${input.unitName} là ${index} (${n} phiếu đánh giá). ` +
          'Xin cảm ơn Quý ông/bà đã góp ý; kết quả chi tiết và những việc đơn vị đã làm theo ý kiến ' +
          'của người dân được công khai tại trang kết quả.',
        textEn:
          `${label}: ${input.unitName}’s satisfaction index is ${index} (${latest.responses} responses). ` +
          'Thank you for your feedback; the details and what the unit changed in answer are on the results page.',
        buttons: [results, survey],
      };
    }
  }
}
