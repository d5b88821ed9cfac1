import { hcmDay } from '../../lib/time';
import { Unit, successorsOf } from '../../models/unit';
import type { DossierEvent, FieldIssue } from './dossier-event';

/**
 * The unit a dossier is stored under, so that its answers count for a unit that existed when the
 * citizen was served. A unit that had ended (validTo) before the dossier's date is replaced by the
 * unit that took it over, hop by hop (a commune merged in 2025 into one merged again later);
 * one that was split, or whose successor is not known, is refused with the successors named.
 * A unit named before its validFrom is kept: a new unit finishing its predecessors' pending
 * dossiers posts them under its own code.
 */
export type DossierUnit =
  { ok: true; unitCode: string; mappedFrom: string | null } | { ok: false; issue: FieldIssue };

const MAX_HOPS = 16;

/**
 * The date the unit is judged on: when the dossier was received (the unit that received it is the
 * one that served the citizen), else when it was finished or returned, else when the event came.
 */
export function dossierUnitDate(
  event: Pick<DossierEvent, 'receivedAt' | 'finishedAt' | 'returnedAt'>,
  now: Date,
): Date {
  return event.receivedAt ?? event.finishedAt ?? event.returnedAt ?? now;
}

export async function dossierUnit(code: string, on: Date): Promise<DossierUnit> {
  const fields = { code: 1, validTo: 1, successorCode: 1, successorCodes: 1 };
  let unit = await Unit.findOne({ code }, fields).lean();
  if (!unit) return { ok: false, issue: { path: 'unitCode', message: 'unknown unit code' } };
  const seen = new Set<string>();
  for (;;) {
    if (!unit.validTo || on.getTime() <= unit.validTo.getTime())
      return { ok: true, unitCode: unit.code, mappedFrom: unit.code === code ? null : code };
    seen.add(unit.code);
    const next = successorsOf(unit);
    const ended = `unit ${unit.code} ended on ${hcmDay(unit.validTo)}, before this dossier's date ${hcmDay(on)}`;
    if (next.length !== 1) {
      const message =
        next.length === 0
          ? `${ended} and has no recorded successor: post it under the unit that handles it now`
          : `${ended} and was split among ${next.join(', ')}: post it under the one that handles it`;
      return { ok: false, issue: { path: 'unitCode', message, successors: next } };
    }
    const successor = next[0]!;
    const found =
      seen.has(successor) || seen.size > MAX_HOPS
        ? null
        : await Unit.findOne({ code: successor }, fields).lean();
    if (!found)
      return {
        ok: false,
        issue: {
          path: 'unitCode',
          message: `${ended}; its successor ${successor} is not a known unit`,
          successors: next,
        },
      };
    unit = found;
  }
}
