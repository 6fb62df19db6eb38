import { z } from 'zod';
import { baseFields, isoDate, isoDateTime, isoMonth, workspaceId } from '../common.ts';

export const dailyAnalyticsRollupPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  /** The day to roll up, in the workspace's time zone; yesterday there when omitted. */
  date: isoDate.optional(),
});

export const weeklyReportPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  /** Monday of the week to report; the last complete week when omitted. */
  week_start: isoDate.optional(),
});

export const monthlySummaryPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  /** 'YYYY-MM'; the last complete month when omitted. */
  month: isoMonth.optional(),
});

export const campaignOptimizationPayload = z.strictObject({
  ...baseFields,
  workspace_id: workspaceId,
  /**
   * The instant the analysis is as of (its window ends settle_hours before it); the job's
   * creation time when omitted, so a retry of the same job gives the same answer.
   */
  as_of: isoDateTime.optional(),
});
