/**
 * The database as the fleet sees it: one interface per table, one place for all of them.
 * Kept in step with migrations/ by test/schema-drift.test.ts, which compares every table and
 * column here with the live, migrated schema.
 */
import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable, Updateable } from 'kysely';

/** JSON as the pg driver returns it (parsed) and accepts it (any serialisable value). */
export type Json = ColumnType<JsonValue, JsonValue | string, JsonValue | string>;
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A column type whose insert may be omitted because the database has a default. */
export type WithDefault<C> = C extends ColumnType<infer S, infer I, infer U> ? ColumnType<S, I | undefined, U> : never;

/** timestamptz: read as Date, written as Date or ISO string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** numeric: read as string on purpose (exact decimal), written as number or string. */
export type Numeric = ColumnType<string, number | string, number | string>;
/** int8 / bigserial: parsed to number by createDb (values stay far below 2^53). */
export type Int8 = ColumnType<number, number | bigint | string, number | bigint | string>;
/** date: kept as 'YYYY-MM-DD' text by createDb so time zones never shift a day. */
export type DateOnly = ColumnType<string, string, string>;

export const TASK_TYPES = [
  'continuous_intelligence_update',
  'daily_analytics_rollup',
  'weekly_report_generation',
  'monthly_summary',
  'email_sync',
  'contact_enrichment',
  'lead_scoring_batch',
  'campaign_optimization',
  'content_calendar_sync',
  'social_media_posting',
  'data_cleanup',
  'system_health_check',
  'media_transcription',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const TASK_STATUSES = ['pending', 'running', 'completed', 'failed', 'partial_failure', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES = ['completed', 'failed', 'partial_failure', 'cancelled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export interface AutonomousTasksTable {
  id: Generated<string>;
  workspace_id: string | null;
  task_type: TaskType;
  status: Generated<TaskStatus>;
  input_data: WithDefault<JSONColumnType<JsonObject, JsonObject | string, JsonObject | string>>;
  output_data: WithDefault<JSONColumnType<JsonObject, JsonObject | string, JsonObject | string>>;
  error_message: string | null;
  executed_at: WithDefault<Timestamp>;
  completed_at: Timestamp | null;
  /** Written by the trigger from executed_at/completed_at; never set it yourself. */
  duration_ms: ColumnType<number | null, never, never>;
  triggered_by: Generated<string>;
  agent_name: string | null;
  cost_estimate_usd: WithDefault<Numeric>;
  created_at: WithDefault<Timestamp>;
  updated_at: WithDefault<Timestamp>;
  queue_name: string | null;
  job_id: string | null;
  attempt: number | null;
}

export interface OrganizationsTable {
  id: Generated<string>;
  name: string;
  created_at: WithDefault<Timestamp>;
}

export interface WorkspacesTable {
  id: Generated<string>;
  org_id: string;
  name: string;
  timezone: Generated<string>;
  is_active: Generated<boolean>;
  settings: WithDefault<JSONColumnType<JsonObject, JsonObject | string, JsonObject | string>>;
  created_at: WithDefault<Timestamp>;
}

export interface UserOrganizationsTable {
  user_id: string;
  org_id: string;
  role: Generated<string>;
  created_at: WithDefault<Timestamp>;
}

export interface ContactsTable {
  id: Generated<string>;
  workspace_id: string;
  email: string;
  display_name: string | null;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  company_domain: string | null;
  job_title: string | null;
  phone: string | null;
  phone_e164: string | null;
  source: Generated<string>;
  manual_fields: Generated<string[]>;
  is_free_mail: boolean | null;
  is_role_address: boolean | null;
  duplicate_of: string | null;
  enrichment: WithDefault<Json>;
  enriched_at: Timestamp | null;
  lead_score: number | null;
  lead_tier: 'hot' | 'warm' | 'cold' | null;
  score_factors: Json | null;
  scored_at: Timestamp | null;
  last_interaction_at: Timestamp | null;
  created_at: WithDefault<Timestamp>;
  updated_at: WithDefault<Timestamp>;
}

export interface ContactScoreHistoryTable {
  id: WithDefault<Int8>;
  workspace_id: string;
  contact_id: string;
  score: number;
  tier: string;
  previous_score: number | null;
  previous_tier: string | null;
  factors: Json;
  computed_at: WithDefault<Timestamp>;
}

export interface MailAccountsTable {
  id: Generated<string>;
  workspace_id: string;
  provider: Generated<string>;
  email_address: string;
  refresh_token_encrypted: string | null;
  history_id: string | null;
  last_synced_at: Timestamp | null;
  is_active: Generated<boolean>;
  created_at: WithDefault<Timestamp>;
}

export interface EmailThreadsTable {
  id: Generated<string>;
  workspace_id: string;
  account_id: string | null;
  provider_thread_id: string;
  subject: string | null;
  message_count: Generated<number>;
  last_message_at: Timestamp | null;
  created_at: WithDefault<Timestamp>;
}

export interface EmailsTable {
  id: Generated<string>;
  workspace_id: string;
  account_id: string | null;
  thread_id: string | null;
  contact_id: string | null;
  provider_message_id: string;
  direction: 'inbound' | 'outbound';
  from_address: string;
  from_name: string | null;
  to_addresses: Generated<string[]>;
  cc_addresses: Generated<string[]>;
  subject: string | null;
  snippet: string | null;
  body_text: string | null;
  labels: Generated<string[]>;
  sent_at: Timestamp;
  opened_at: Timestamp | null;
  clicked_at: Timestamp | null;
  replied_at: Timestamp | null;
  in_reply_to: string | null;
  processed_at: Timestamp | null;
  created_at: WithDefault<Timestamp>;
  /** Continuous intelligence: lease, failed attempts and last failure (065). */
  intelligence_claimed_until: Timestamp | null;
  intelligence_attempts: Generated<number>;
  intelligence_error: string | null;
}

export interface EmailInsightsTable {
  id: Generated<string>;
  workspace_id: string;
  email_id: string;
  contact_id: string | null;
  intent: string;
  intents: Generated<string[]>;
  sentiment: 'positive' | 'neutral' | 'negative';
  sentiment_score: Numeric | null;
  urgency: 'low' | 'medium' | 'high';
  action_items: WithDefault<Json>;
  mentioned_dates: WithDefault<Json>;
  people: WithDefault<Json>;
  companies: WithDefault<Json>;
  extractor: string;
  model: string | null;
  cost_usd: WithDefault<Numeric>;
  created_at: WithDefault<Timestamp>;
  input_tokens: Generated<number>;
  output_tokens: Generated<number>;
  cache_read_tokens: Generated<number>;
  cache_write_tokens: Generated<number>;
}

export interface MediaFilesTable {
  id: Generated<string>;
  workspace_id: string;
  source: string;
  file_name: string | null;
  mime_type: string | null;
  size_bytes: Int8 | null;
  duration_seconds: Numeric | null;
  status: Generated<'uploaded' | 'processing' | 'transcribed' | 'failed'>;
  error_message: string | null;
  created_at: WithDefault<Timestamp>;
  updated_at: WithDefault<Timestamp>;
}

export interface MediaTranscriptsTable {
  id: Generated<string>;
  workspace_id: string;
  media_file_id: string;
  text: string;
  language: string | null;
  segments: WithDefault<Json>;
  duration_seconds: Numeric | null;
  model: string | null;
  created_at: WithDefault<Timestamp>;
}

export interface DailyAnalyticsTable {
  workspace_id: string;
  day: DateOnly;
  metrics: Json;
  computed_at: WithDefault<Timestamp>;
}

export interface AnalyticsReportsTable {
  id: Generated<string>;
  workspace_id: string;
  kind: 'weekly' | 'monthly';
  period_start: DateOnly;
  period_end: DateOnly;
  data: Json;
  markdown: string;
  created_at: WithDefault<Timestamp>;
}

/** Every table the fleet touches. */
export interface Database {
  autonomous_tasks: AutonomousTasksTable;
  organizations: OrganizationsTable;
  workspaces: WorkspacesTable;
  user_organizations: UserOrganizationsTable;
  contacts: ContactsTable;
  contact_score_history: ContactScoreHistoryTable;
  mail_accounts: MailAccountsTable;
  email_threads: EmailThreadsTable;
  emails: EmailsTable;
  email_insights: EmailInsightsTable;
  media_files: MediaFilesTable;
  media_transcripts: MediaTranscriptsTable;
  daily_analytics: DailyAnalyticsTable;
  analytics_reports: AnalyticsReportsTable;
}

export type Task = Selectable<AutonomousTasksTable>;
export type NewTask = Insertable<AutonomousTasksTable>;
export type TaskUpdate = Updateable<AutonomousTasksTable>;
export type Workspace = Selectable<WorkspacesTable>;
export type Contact = Selectable<ContactsTable>;
export type Email = Selectable<EmailsTable>;
export type EmailInsight = Selectable<EmailInsightsTable>;
export type MailAccount = Selectable<MailAccountsTable>;
export type MediaFile = Selectable<MediaFilesTable>;
export type MediaTranscript = Selectable<MediaTranscriptsTable>;
