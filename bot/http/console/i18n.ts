import type { FastifyRequest } from 'fastify';
import { countVi, dayVi, percentVi } from '../public/format';

export type Lang = 'vi' | 'en';
export const LANG_COOKIE = 'hl_lang';

/** A page's messages: Vietnamese first (the default), the same keys in English. */
export interface Messages<K extends string = string> {
  vi: Record<K, string>;
  en: Record<K, string>;
}

/** Defines a dictionary whose English half must have exactly the Vietnamese keys. */
export function messages<K extends string>(
  vi: Record<K, string>,
  en: Record<NoInfer<K>, string>,
): Messages<K> {
  return { vi, en };
}

/** Vietnamese unless the person chose English (the hl_lang cookie, set by /admin/lang/en). */
export function langOf(req: FastifyRequest): Lang {
  const m = /(?:^|;\s*)hl_lang=(vi|en)(?:;|$)/.exec(req.headers.cookie ?? '');
  return m?.[1] === 'en' ? 'en' : 'vi';
}

export type Translate = (key: string, vars?: Record<string, string | number>) => string;

/** `t('key', { n: 3 })`: the key's text in the language, `{n}` filled; an unknown key throws (a bug, found by tests). */
export function translator(lang: Lang, ...dicts: Messages[]): Translate {
  return (key, vars) => {
    const d = dicts.find((x) => key in x[lang]);
    if (!d) throw new Error(`console: no message "${key}"`);
    let s = d[lang][key]!;
    for (const [k, v] of Object.entries(vars ?? {})) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  };
}

/** Numbers and dates as the language writes them: 1.234,5 and dd/mm/yyyy in Vietnamese. */
export interface Format {
  count(n: number): string;
  /** A share 0..1 as a percentage with one decimal: 0,845 → "84,5%". */
  percent(v: number | null | undefined): string;
  /** 'YYYY-MM-DD' or an ISO instant → dd/mm/yyyy (Asia/Ho_Chi_Minh for instants). */
  date(day: string): string;
}

const EN_COUNT = new Intl.NumberFormat('en-GB');

export function formatFor(lang: Lang): Format {
  const day = (s: string) =>
    s.length > 10 ? new Date(s).toLocaleDateString('en-GB', { timeZone: 'Asia/Ho_Chi_Minh' }) : dayVi(s);
  if (lang === 'vi') return { count: countVi, percent: (v) => (v == null ? '—' : percentVi(v)), date: day };
  return {
    count: (n) => EN_COUNT.format(n),
    percent: (v) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`),
    date: day,
  };
}
