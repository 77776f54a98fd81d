-- Per-account storage quota (issue 12): the bytes an account stores are summed from this
-- index alone before each upload.
CREATE INDEX attachments_account ON attachments(account_id, file_size);
