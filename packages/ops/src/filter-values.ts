import { isSupportedTime, SUPPORTED_YEARS } from '@fleet/catalog';
import { z } from 'zod';
import { textProblem } from './text.ts';

/**
 * Schemas of the values filters take, as they arrive from a query string or CLI flags: text that
 * is parsed strictly (a number is decimal digits, a time is ISO 8601), so that what one layer
 * accepts is what every layer means.
 */

/** A comma-separated list (or an array) of `item`s, at least one. */
export const csv = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item).min(1),
  );

/** A whole number between min and max, as a number or as decimal digits (not "0x10", "1e3", " 5"). */
export const wholeNumber = (min: number, max: number) =>
  z
    .union([z.number(), z.string().regex(/^-?\d{1,16}$/)], { error: 'must be a whole number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int('must be a whole number')
        .min(min, `must be between ${min} and ${max}`)
        .max(max, `must be between ${min} and ${max}`),
    );

const INSTANT_MESSAGE = 'must be an ISO 8601 time with an offset, e.g. 2026-01-31T12:00:00Z, or a date, 2026-01-31';

/**
 * A time: an ISO 8601 date-time with its offset or a calendar date (UTC midnight), that exists
 * (no February 31) and lies in the supported years; a Date passes as it is.
 */
export const instant = z
  .union([z.date(), z.iso.datetime({ offset: true }), z.iso.date()], { error: INSTANT_MESSAGE })
  .transform((v) => (v instanceof Date ? v : new Date(v.length === 10 ? `${v}T00:00:00Z` : v)))
  .refine(isSupportedTime, `must be between ${SUPPORTED_YEARS.min} and ${SUPPORTED_YEARS.max}`);

/** An id-like value: 1-200 printable characters (see text.ts). */
export const idText = z
  .string()
  .min(1)
  .max(200)
  .superRefine((v, ctx) => {
    const problem = textProblem(v, 'id');
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
