import { z } from 'zod';
import { parsePeriod } from '../../../lib/time';

/** Shared pieces of the /api/v1 schemas. Dates travel as ISO 8601 strings (UTC). */

export const unitCode = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'expected a unit code (letters, digits, . _ -)')
  .describe('unit code (GSO code, or a provisional QD-… code)');

/** An Asia/Ho_Chi_Minh calendar day. */
export const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'Ngày phải có dạng YYYY-MM-DD. / expected YYYY-MM-DD')
  .refine((d) => {
    try {
      parsePeriod(d);
      return true;
    } catch {
      return false;
    }
  }, 'Không phải một ngày có thật. / not a calendar day')
  .describe('YYYY-MM-DD, Asia/Ho_Chi_Minh');

export const isoDate = z.iso.datetime().describe('ISO 8601, UTC');

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** A page size: `limit` items, the next page from `nextCursor`. */
export const limit = z.coerce.number().int().min(1).max(500).default(100);

/** 204 answers carry no body. */
export const noContent = z.undefined().describe('no content');

/** A report period in Asia/Ho_Chi_Minh: a year, a quarter or a month. */
export const period = z
  .string()
  .regex(/^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$/, 'expected YYYY, YYYY-Qn or YYYY-MM')
  .describe('YYYY, YYYY-Qn or YYYY-MM, Asia/Ho_Chi_Minh');

/** The channels of the figures: how the dossier was filed (online_3/online_4: the online level). */
export const figureChannel = z.enum(['in_person', 'online', 'online_3', 'online_4', 'post', 'unknown']);
