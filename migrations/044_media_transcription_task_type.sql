-- 044: the media transcription agent records its runs as `media_transcription`, a task type the
-- original check constraint did not list.
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
  'media_transcription'
));
