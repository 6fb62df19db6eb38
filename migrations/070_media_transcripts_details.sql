-- Transcripts are rewritten when a file is transcribed again (a retry, a re-run with another
-- model): record when, and how many uploads the provider got (large WAV files go in parts).
ALTER TABLE media_transcripts
  ADD COLUMN IF NOT EXISTS chunk_count integer NOT NULL DEFAULT 1 CHECK (chunk_count > 0),
  ADD COLUMN IF NOT EXISTS cost_usd numeric(12, 6),
  ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
