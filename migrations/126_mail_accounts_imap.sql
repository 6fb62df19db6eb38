-- 126: IMAP mail accounts beside Gmail ones. The server, login and folders live on the account;
-- the password is stored only as AES-256-GCM ciphertext (MAIL_TOKEN_ENCRYPTION_KEY), as the
-- Gmail refresh token is. history_id stays the one sync cursor column: Gmail's history id, or
-- IMAP's UIDVALIDITY / last UID / HIGHESTMODSEQ per folder as JSON.
ALTER TABLE mail_accounts
  ADD COLUMN IF NOT EXISTS imap_host text,
  ADD COLUMN IF NOT EXISTS imap_port integer,
  -- 'tls' (implicit TLS, usually 993), 'starttls' (usually 143), or 'none' (loopback only)
  ADD COLUMN IF NOT EXISTS imap_security text,
  -- login name when it is not the email address
  ADD COLUMN IF NOT EXISTS imap_username text,
  ADD COLUMN IF NOT EXISTS imap_password_encrypted text,
  -- folders to sync; NULL = INBOX and the folder the server marks \Sent
  ADD COLUMN IF NOT EXISTS imap_folders text[];

ALTER TABLE mail_accounts DROP CONSTRAINT IF EXISTS mail_accounts_imap_settings;
ALTER TABLE mail_accounts ADD CONSTRAINT mail_accounts_imap_settings CHECK (
  provider <> 'imap' OR (
    imap_host IS NOT NULL AND imap_port BETWEEN 1 AND 65535
    AND imap_security IN ('tls', 'starttls', 'none')
    AND imap_password_encrypted IS NOT NULL
  )
);

COMMENT ON COLUMN mail_accounts.history_id IS
  'sync cursor: the Gmail history id, or for IMAP a JSON object of per-folder UIDVALIDITY, next UID and HIGHESTMODSEQ';
