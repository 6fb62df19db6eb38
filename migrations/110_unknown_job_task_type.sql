-- 110: a job whose name its queue does not know (a typo in a raw BullMQ producer, a job of a newer
-- release) is recorded as `unknown_job` instead of being counted as one of the queue's real task
-- types. Added NOT VALID and validated separately, so the table is not locked while its rows are
-- checked (every existing row satisfies the narrower list it replaces).
ALTER TABLE autonomous_tasks DROP CONSTRAINT autonomous_tasks_task_type_check;
ALTER TABLE autonomous_tasks ADD CONSTRAINT autonomous_tasks_task_type_check CHECK (task_type IN (
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
  'unknown_job'
)) NOT VALID;
ALTER TABLE autonomous_tasks VALIDATE CONSTRAINT autonomous_tasks_task_type_check;
