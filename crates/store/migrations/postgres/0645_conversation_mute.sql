-- Muting a conversation (Chatwoot's `mute` / `unmute`, and the automation action
-- `mute_conversation`): it is resolved and, until `muted_until` (epoch milliseconds, six
-- hours later as in Chatwoot), the contact's new messages are stored without reopening it,
-- starting a wait or a reply target. NULL: not muted.
ALTER TABLE conversations ADD COLUMN muted_until BIGINT;
