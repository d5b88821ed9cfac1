/**
 * The common ways a case is resolved: an official closes a case with one of these (a button in
 * the unit's group, `hailong case close --reason CODE`) or with a free reason. `label` is what
 * officials see; `citizen` is the sentence the citizen's follow-up carries (a free reason is
 * never sent to the citizen: it may name people).
 */
export interface Resolution {
  code: string;
  label: { vi: string; en: string };
  citizen: { vi: string; en: string };
}

export const RESOLUTIONS: readonly Resolution[] = Object.freeze([
  {
    code: 'giai-thich',
    label: { vi: 'Đã giải thích, hướng dẫn lại', en: 'Explained, guided again' },
    citizen: {
      vi: 'Chúng tôi đã rà soát và giải thích, hướng dẫn lại nội dung Ông/Bà phản ánh.',
      en: 'We have reviewed your feedback and explained or guided you again.',
    },
  },
  {
    code: 'khac-phuc',
    label: { vi: 'Đã khắc phục', en: 'Fixed' },
    citizen: {
      vi: 'Chúng tôi đã khắc phục vấn đề Ông/Bà phản ánh.',
      en: 'We have fixed the problem you reported.',
    },
  },
  {
    code: 'nhac-nho',
    label: { vi: 'Đã xin lỗi, nhắc nhở cán bộ', en: 'Apologised, staff reminded' },
    citizen: {
      vi: 'Chúng tôi thành thật xin lỗi Ông/Bà và đã nhắc nhở cán bộ liên quan.',
      en: 'We sincerely apologise and have reminded the staff concerned.',
    },
  },
  {
    code: 'xem-xet',
    label: { vi: 'Đã xem xét, không có sai sót', en: 'Reviewed, no fault found' },
    citizen: { vi: 'Chúng tôi đã xem xét phản ánh của Ông/Bà.', en: 'We have reviewed your feedback.' },
  },
]);

/** The citizen's sentence for a case closed with a free reason. */
export const GENERIC_CITIZEN = {
  vi: 'Chúng tôi đã xem xét, xử lý phản ánh của Ông/Bà.',
  en: 'We have reviewed and handled your feedback.',
} as const;

export function resolutionOf(code: string | null | undefined): Resolution | null {
  return RESOLUTIONS.find((r) => r.code === code) ?? null;
}
