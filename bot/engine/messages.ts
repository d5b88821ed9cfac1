import type { Lang } from '../flow/schema';

/** Fixed texts of the conversation (not part of a flow). Vietnamese first, English second. */
const texts = {
  reask: {
    vi: 'Xin vui lòng chọn một trong các lựa chọn bên dưới (hoặc gõ số thứ tự).',
    en: 'Please choose one of the options below (or type its number).',
  },
  reaskNumber: {
    vi: 'Xin vui lòng nhập một số từ {min} đến {max}.',
    en: 'Please enter a number from {min} to {max}.',
  },
  reaskText: {
    vi: 'Xin vui lòng nhập câu trả lời (tối đa {max} ký tự).',
    en: 'Please type your answer (at most {max} characters).',
  },
  stale: { vi: 'Câu hỏi này đã được trả lời.', en: 'This question has already been answered.' },
  chosen: { vi: 'Đã chọn: {label}', en: 'Chosen: {label}' },
  pickAtLeast: {
    vi: 'Xin chọn ít nhất {n} lựa chọn rồi bấm «Xong».',
    en: 'Please choose at least {n} option(s), then press “Done”.',
  },
  done: { vi: 'Xong ✅', en: 'Done ✅' },
  skip: { vi: 'Bỏ qua', en: 'Skip' },
  progress: { vi: 'Câu {n}/{total}', en: 'Question {n} of {total}' },
  askOther: { vi: 'Xin Ông/Bà ghi rõ lý do khác:', en: 'Please describe the other reason:' },
  multiHint: {
    vi: 'Có thể chọn nhiều ý, rồi bấm «Xong». Hoặc gõ số thứ tự, ví dụ: 1, 3',
    en: 'Choose one or more, then press “Done”. Or type the numbers, e.g. 1, 3',
  },
  singleHint: { vi: 'Gõ số thứ tự để trả lời, ví dụ: 1', en: 'Type the number of your answer, e.g. 1' },
  notApplicable: { vi: 'Không áp dụng', en: 'Not applicable' },
  help: {
    vi:
      'Hài Lòng là kênh lấy ý kiến người dân về việc giải quyết thủ tục hành chính.\n' +
      '• Bấm vào các nút để trả lời, hoặc gõ số thứ tự.\n' +
      '• /start: bắt đầu hoặc tiếp tục khảo sát\n• /lang: đổi ngôn ngữ (Tiếng Việt / English)\n' +
      '• /stop: dừng khảo sát và huỷ nhận tin\n• /dulieu: xem dữ liệu cá nhân đang được lưu\n• /xoa: yêu cầu xóa dữ liệu cá nhân\n' +
      'Ý kiến chỉ dùng để cải thiện phục vụ, không gắn với danh tính của Ông/Bà.',
    en:
      'Hài Lòng collects citizens’ feedback on administrative services.\n' +
      '• Tap the buttons to answer, or type the number.\n' +
      '• /start: start or resume the survey\n• /lang: switch language (Tiếng Việt / English)\n' +
      '• /stop: stop the survey and unsubscribe\n• /dulieu: see the personal data held about you\n• /xoa: have your personal data erased\n' +
      'Answers are used only to improve services and are kept apart from your identity.',
  },
  stopped: {
    vi: 'Đã dừng khảo sát và huỷ nhận tin. Gõ /start nếu Ông/Bà muốn tham gia lại.',
    en: 'Survey stopped and you are unsubscribed. Send /start to join again.',
  },
  langSwitched: { vi: 'Đã chuyển sang Tiếng Việt.', en: 'Switched to English.' },
  noSurvey: {
    vi: 'Xin chào! Đây là kênh lấy ý kiến về dịch vụ hành chính công. Gõ /start để bắt đầu khảo sát, /help để xem hướng dẫn.',
    en: 'Hello! This channel collects feedback on public services. Send /start to begin the survey, /help for help.',
  },
  infoThanks: { vi: 'Cảm ơn Ông/Bà đã chia sẻ thông tin.', en: 'Thank you for sharing your details.' },
  expired: {
    vi: 'Rất tiếc, lời mời khảo sát này đã hết hạn. Cảm ơn Ông/Bà đã quan tâm.',
    en: 'Sorry, this survey invitation has expired. Thank you for your interest.',
  },
  unknownToken: {
    vi: 'Không tìm thấy lời mời khảo sát này. Xin kiểm tra lại đường dẫn trên phiếu hẹn.',
    en: 'This survey invitation was not found. Please check the link on your receipt.',
  },
  alreadyAnswered: {
    vi: 'Hồ sơ này đã được đánh giá. Cảm ơn Ông/Bà!',
    en: 'This dossier has already been rated. Thank you!',
  },
  noFlow: {
    vi: 'Xin lỗi Ông/Bà, hệ thống khảo sát tạm thời chưa sẵn sàng. Xin vui lòng thử lại sau. Cảm ơn Ông/Bà!',
    en: 'Sorry, the survey is not available at the moment. Please try again later. Thank you!',
  },
  resume: { vi: 'Tiếp tục khảo sát:', en: 'Resuming the survey:' },
  eraseAsk: {
    vi:
      'Quý ông/bà yêu cầu xóa dữ liệu cá nhân (theo Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15): tài khoản liên lạc, ' +
      'liên kết giữa Quý ông/bà với các phiếu khảo sát, ý kiến viết tay và số điện thoại trên hồ sơ. Điểm đánh giá được giữ lại ' +
      'nhưng không còn gắn với Quý ông/bà, và hệ thống sẽ không gửi thêm tin nào. Để xác nhận, xin gửi: /xoa dongy',
    en:
      'You asked to erase your personal data (Personal Data Protection Law No. 91/2025/QH15): your contact record, the link ' +
      'between you and your survey answers, your written comments and the phone number on your dossiers. Your ratings are kept, ' +
      'no longer linked to you, and no further message will be sent. To confirm, send: /xoa dongy',
  },
  erased: {
    vi: 'Dữ liệu cá nhân của Quý ông/bà đã được xóa (mã yêu cầu {id}). Hệ thống sẽ không gửi thêm tin nào. Xin cảm ơn Quý ông/bà.',
    en: 'Your personal data has been erased (request {id}). No further message will be sent. Thank you.',
  },
  privacyUnavailable: {
    vi: 'Xin lỗi Quý ông/bà, yêu cầu này chưa thực hiện được qua kênh này. Xin liên hệ bộ phận một cửa nơi nộp hồ sơ.',
    en: 'Sorry, this request cannot be served on this channel. Please contact the one-stop shop where you submitted your dossier.',
  },
  skipWords: { vi: 'bỏ qua', en: 'skip' },
} as const;

export type TextKey = keyof typeof texts;

/** A table of fixed texts, each in Vietnamese and English, with `{name}` placeholders. */
export type TextTable = Readonly<Record<string, { readonly vi: string; readonly en: string }>>;

/**
 * The one localisation helper: picks the language's text from a table and fills its
 * placeholders; an unknown placeholder stays as written. Pure, so the engine and the outreach
 * texts (bot/survey/invitation-text.ts) share it.
 */
export function localise<T extends TextTable>(
  table: T,
  key: keyof T,
  lang: Lang,
  vars: Readonly<Record<string, string | number>> = {},
): string {
  const entry = table[key]!;
  const raw = lang === 'en' ? entry.en : entry.vi;
  return raw.replace(/\{([a-z]+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export function t(key: TextKey, lang: Lang, vars: Record<string, string | number> = {}): string {
  return localise(texts, key, lang, vars);
}

/** Words that skip an optional question, in any language (compared without diacritics). */
export const SKIP_WORDS = ['bo qua', 'boqua', 'skip', 'khong', 'no', '-'];
