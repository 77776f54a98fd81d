-- The bot works per conversation (issue 16): one job per conversation reads every customer
-- message after the last one it handled, and moves this mark in the same statement as the
-- dialogue state, so two messages in quick succession are handled once each, in order.
-- Rows written before this migration: the bot has handled what the conversation has.
ALTER TABLE agent_bot_dialogs ADD COLUMN handled_message_id BIGINT NOT NULL DEFAULT 0;
UPDATE agent_bot_dialogs SET handled_message_id = COALESCE(
    (SELECT MAX(m.id) FROM messages m
     WHERE m.conversation_id = agent_bot_dialogs.conversation_id AND m.message_type = 0), 0);

-- Bots get the events Chatwoot's agent-bot listener sends them (`conversation_opened`,
-- `conversation_resolved`, `message_created`, `message_updated`, `webwidget_triggered`),
-- not the account webhooks' names.
UPDATE webhooks SET subscriptions =
    '["conversation_opened","conversation_resolved","message_created","message_updated","webwidget_triggered"]'
WHERE agent_bot_id IS NOT NULL;
