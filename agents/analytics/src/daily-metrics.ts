/**
 * The shape of daily_analytics.metrics: one workspace, one local day. Counts are of that day;
 * contact tiers and scores are a snapshot at the day's end.
 */

export interface TaskTypeMetrics {
  /** Audit rows (attempts) that started that day. */
  executions: number;
  completed: number;
  failed: number;
  partial_failures: number;
  cancelled: number;
  /** Attempts with a duration (finished); the weight of avg_duration_ms when days are combined. */
  timed: number;
  avg_duration_ms: number | null;
  cost_usd: number;
}

export interface DailyMetrics {
  day: string;
  timezone: string;
  /** The day's instants, [start, end), and its length (23, 24 or 25 hours). */
  window: { start: string; end: string; hours: number };
  /** False when the rollup ran before the day was over: reports roll such days up again. */
  complete: boolean;
  emails: {
    received: number;
    sent: number;
    /** Of the emails sent that day: opened, clicked, answered by the contact. */
    opened: number;
    clicked: number;
    replies_received: number;
    /** Of the emails received that day: answered by us (so far). */
    answered: number;
    response_time_avg_minutes: number | null;
    response_time_median_minutes: number | null;
    active_contacts: number;
    threads: number;
  };
  contacts: {
    new: number;
    total: number;
    scored: number;
    by_tier: { hot: number; warm: number; cold: number };
    average_score: number | null;
  };
  insights: {
    total: number;
    by_sentiment: { positive: number; neutral: number; negative: number };
    high_urgency: number;
    by_intent: Record<string, number>;
    mean_sentiment: number | null;
  };
  fleet: TaskTypeMetrics & { by_task_type: Record<string, TaskTypeMetrics> };
}

/**
 * How many metrics a day holds (output_data.total_metrics): every numeric leaf, including the
 * averages that are null for lack of data; 31 fixed ones plus one per intent and eight per task type.
 */
export function countMetrics(m: DailyMetrics): number {
  const walk = (v: unknown): number => {
    if (typeof v === 'number' || v === null) return 1;
    if (v && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + walk(x), 0);
    return 0;
  };
  return walk(m.emails) + walk(m.contacts) + walk(m.insights) + walk(m.fleet);
}
