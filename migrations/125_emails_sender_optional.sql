-- 125: mail without a From header exists (mailbox providers deliver it) and is stored with what
-- the message does name: Sender or Return-Path, else no sender at all.
ALTER TABLE emails ALTER COLUMN from_address DROP NOT NULL;
