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
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')
  .refine((d) => {
    try {
      parsePeriod(d);
      return true;
    } catch {
      return false;
    }
  }, 'not a calendar day')
  .describe('YYYY-MM-DD, Asia/Ho_Chi_Minh');

export const isoDate = z.iso.datetime().describe('ISO 8601, UTC');

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** A page size: `limit` items, the next page from `nextCursor`. */
export const limit = z.coerce.number().int().min(1).max(500).default(100);

/** 204 answers carry no body. */
export const noContent = z.undefined().describe('no content');
