import { defaultFlow } from '../../bot/flow/default-flow';
import { API_PREFIX } from '../../bot/http/api/register';
import { hcmYear } from '../../lib/time';
import { ApiClient, GOOD_PASSWORD } from './api';
import type { ConsoleTest } from './console-test';
import { respond, rollUp } from './figures-fixtures';
import {
  dossiersOfResponses,
  makeBroadcast,
  makeCase,
  makeDossier,
  makeFlag,
  makeResponse,
} from './survey-fixtures';

/**
 * Two communes of the seed units, each with data of every kind the console shows: ratings rolled
 * up into figures, a free-text answer, cases (one of a commune it absorbed), an integrity flag,
 * dossiers, broadcasts, a live-version assignment, and audit entries written by its own official
 * through the API. Each commune's objects are named so that a page of the one can be searched
 * for every trace of the other (`markers`).
 */
export interface CommuneData {
  unit: string;
  /** A commune it absorbed on 1/7/2025, with its own history. */
  old: string;
  user: string;
  ids: { case: string; oldCase: string; dossier: string; response: string; flag: string; broadcast: string };
  /** Every string that, on a page of the other commune's official, would be a leak. */
  markers: string[];
}

const A_NAMES = ['Xã Đan Điền', 'Xã Quảng Thái', 'Xã Quảng Lợi', 'Xã Quảng Vinh', 'Xã Quảng Phú'];
const B_NAMES = ['Xã Quảng Điền', 'Thị trấn Sịa', 'Xã Quảng Phước', 'Xã Quảng An', 'Xã Quảng Thọ'];
export const ADMIN = 'quantri.pham-vi';

async function commune(
  c: ConsoleTest,
  admin: ApiClient,
  unit: string,
  old: string,
  user: string,
  names: string[],
  ratings: number,
): Promise<CommuneData> {
  // An hour ago: in the current year, the overview's default period.
  const at = new Date(Date.now() - 3_600_000).toISOString();
  for (let i = 0; i < ratings; i++) await respond(unit, at, [5, 4, 5, 4, 5, 4]);
  // The absorbed commune's history, from before the merger of 1/7/2025.
  await respond(old, `2025-03-0${(ratings % 8) + 1}T03:00:00Z`, [2, 2, 2, 2, 2, 2]);
  const free = await makeResponse(unit, { score: 2, text: `Góp ý riêng của ${unit}: chờ lâu` });
  const ids = {
    case: await makeCase(unit),
    oldCase: await makeCase(old),
    dossier: await makeDossier(unit, { invited: true, answered: true }),
    response: free.responseId,
    flag: await makeFlag(unit),
    broadcast: await makeBroadcast(unit, { status: 'sending', createdBy: `soan.${unit.toLowerCase()}` }),
  };
  await makeBroadcast(unit, { status: 'completed', report: { sent: 3, failed: 0, blocked: 0 } });
  await dossiersOfResponses([unit, old]);
  const put = await admin.request('PUT', `${API_PREFIX}/flows/assignments`, {
    body: {
      unitCode: unit,
      procedureCode: '1.001234',
      flowKey: defaultFlow.key,
      version: defaultFlow.version,
    },
  });
  if (put.status !== 200) throw new Error(`assignment of ${unit}: ${put.status} ${put.text}`);

  // The commune's own official at work through the API: audit entries of the commune.
  const own = new ApiClient(c.baseUrl);
  if ((await own.login(user, GOOD_PASSWORD)).status !== 200) throw new Error(`login of ${user}`);
  for (const r of [
    await own.get(`${API_PREFIX}/reports/export.csv`, { unit, period: String(hcmYear(new Date())) }),
    await own.get(`${API_PREFIX}/cases/${ids.case}`),
    await own.post(`${API_PREFIX}/cases/${ids.case}/assign`, { username: user }),
    await own.post(`${API_PREFIX}/cases/${ids.case}/notes`, { text: `Ghi chú nội bộ của ${unit}` }),
  ])
    if (r.status >= 300) throw new Error(`${user}'s API call: ${r.status} ${r.text}`);

  return {
    unit,
    old,
    user,
    ids,
    markers: [unit, old, user, ...names, ...Object.values(ids)],
  };
}

/**
 * Xã Đan Điền (a) and Xã Quảng Điền (b), the two communes of the old Quảng Điền district that
 * absorbed 19870 and 19867, with their officials (role unit) and an admin who assigns flows.
 * Different numbers of ratings, so neither's figures can pass for the other's.
 */
export async function seedTwoCommunes(c: ConsoleTest): Promise<{ a: CommuneData; b: CommuneData }> {
  const admin = new ApiClient(c.baseUrl);
  if ((await admin.login(ADMIN, GOOD_PASSWORD)).status !== 200) throw new Error(`login of ${ADMIN}`);
  const a = await commune(c, admin, 'QD-DAN-DIEN', '19870', 'xa.dandien', A_NAMES, 2);
  const b = await commune(c, admin, 'QD-QUANG-DIEN', '19867', 'xa.quangdien', B_NAMES, 5);
  await rollUp(c.t);
  return { a, b };
}

/** The accounts seedTwoCommunes needs, for startConsoleTest's `users`. */
export const TWO_COMMUNES_USERS = {
  [ADMIN]: ['admin', []],
  'xa.dandien': ['unit', ['QD-DAN-DIEN']],
  'xa.quangdien': ['unit', ['QD-QUANG-DIEN']],
} as const;

/**
 * The markers of `of` found in a page's HTML or text. A code matches only as a whole token, so
 * a number inside a token or an id is not taken for it.
 */
export function leaks(html: string, of: CommuneData): string[] {
  return of.markers.filter((m) =>
    new RegExp(`(?<![A-Za-z0-9_.-])${m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_-])`).test(html),
  );
}
