import {
  BROADCAST_TEMPLATES,
  renderTemplate,
  TemplateUnavailableError,
} from '../../bot/http/public/broadcast-templates';
import type { PublishedPeriod } from '../../bot/http/public/published';
import { validateContent } from '../../workers/broadcast/render';

const links = {
  unitName: 'Xã Đan Điền',
  surveyLink: 'https://hailong.example.gov.vn/s/u/QD-DAN-DIEN',
  resultsLink: 'https://hailong.example.gov.vn/ket-qua/QD-DAN-DIEN',
};
const month = (published: boolean): PublishedPeriod => ({
  kind: 'month',
  key: '2026-11',
  from: '2026-11-01',
  to: '2026-11-30',
  published,
  responses: published ? 1234 : null,
  overall: published ? { n: 1234, index: 0.8451, ci95: { low: 0.82, high: 0.86 } } : null,
  elements: [],
});

test.each(BROADCAST_TEMPLATES.filter((n) => n !== 'ket-qua'))(
  "template %s addresses the citizen formally, links the unit's survey, and is a valid broadcast in Vietnamese and English",
  (name) => {
    const c = renderTemplate(name, links);
    expect(c.text).toContain('Quý ông/bà');
    expect(c.buttons.map((b) => b.url)).toContain(links.surveyLink);
    expect(c.textEn.length).toBeGreaterThan(0);
    expect(validateContent({ ...c, format: 'text', imageUrl: null })).toEqual([]);
  },
);

test('the results template quotes the latest published period in Vietnamese format and links the results page', () => {
  const c = renderTemplate('ket-qua', { ...links, results: { periods: [month(true)] } });
  expect(c.text).toContain('Tháng 11/2026, chỉ số hài lòng của Xã Đan Điền là 84,5% (1.234 phiếu đánh giá)');
  expect(c.textEn).toContain('84,5%');
  expect(c.buttons[0]).toEqual({ text: 'Xem kết quả / Results', url: links.resultsLink });
  expect(validateContent({ ...c, format: 'text', imageUrl: null })).toEqual([]);
});

test('the results template refuses a unit whose periods are below the minimum: it never shows a withheld figure', () => {
  expect(() => renderTemplate('ket-qua', { ...links, results: { periods: [month(false)] } })).toThrow(
    TemplateUnavailableError,
  );
  expect(() => renderTemplate('ket-qua', { ...links, results: null })).toThrow(TemplateUnavailableError);
});
