/** The shape of a stored report: what the builder (report-data.ts) fills and the renderer reads. */
import type { busiestDays, costlyTaskTypes, Delta, failureHotSpots, PeriodTotals } from './period-totals.ts';
import type { Period } from './periods.ts';
import type { ScoreMover } from './score-movers.ts';

export interface ReportData {
  kind: 'weekly' | 'monthly';
  timezone: string;
  period: Period;
  previous_period: Period;
  /** False while the period is still running. */
  complete: boolean;
  totals: PeriodTotals;
  previous_totals: PeriodTotals;
  deltas: Record<string, Delta>;
  highlights: {
    top_score_changes: ScoreMover[];
    busiest_days: ReturnType<typeof busiestDays>;
    costly_task_types: ReturnType<typeof costlyTaskTypes>;
    failure_hot_spots: ReturnType<typeof failureHotSpots>;
  };
  generated_at: string;
}
