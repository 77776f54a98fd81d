-- One customer across channels (issue 14): the comparable forms of a contact's e-mail and
-- phone number (parley_core::contact_match), filled by the store on every write, so the
-- duplicates of a contact (same e-mail ignoring case, same number ignoring formatting and
-- the Russian 8/+7 prefix) are found through an index. An e-mail a visitor typed that
-- belonged to another contact (`additional_attributes.unverified_email`) counts when the
-- contact has no e-mail of its own.
ALTER TABLE contacts ADD COLUMN email_key TEXT;
ALTER TABLE contacts ADD COLUMN phone_key TEXT;

-- Existing contacts, computed as contact_match does (e-mails are stored lower-cased and
-- trimmed already; phone numbers hold only digits and "+-() ").
UPDATE contacts SET email_key = LOWER(TRIM(email)) WHERE email IS NOT NULL;
UPDATE contacts SET email_key = LOWER(TRIM(additional_attributes::jsonb ->> 'unverified_email'))
WHERE email IS NULL AND additional_attributes LIKE '%unverified_email%'
  AND jsonb_typeof(additional_attributes::jsonb -> 'unverified_email') = 'string'
  AND (additional_attributes::jsonb ->> 'unverified_email') LIKE '_%@_%';
UPDATE contacts SET phone_key = regexp_replace(phone_number, '[^0-9]', '', 'g')
WHERE phone_number IS NOT NULL;
UPDATE contacts SET phone_key = '7' || SUBSTR(phone_key, 2)
WHERE phone_key IS NOT NULL AND LENGTH(phone_key) = 11 AND SUBSTR(phone_key, 1, 1) = '8'
  AND SUBSTR(TRIM(phone_number), 1, 1) <> '+';
UPDATE contacts SET phone_key = NULL WHERE LENGTH(phone_key) < 5;

CREATE INDEX contacts_email_key ON contacts(account_id, email_key) WHERE email_key IS NOT NULL;
CREATE INDEX contacts_phone_key ON contacts(account_id, phone_key) WHERE phone_key IS NOT NULL;
