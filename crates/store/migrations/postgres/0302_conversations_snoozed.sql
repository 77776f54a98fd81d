-- Finds snoozed conversations whose snooze has run out, without scanning the others.
CREATE INDEX conversations_snoozed ON conversations(snoozed_until) WHERE status = 'snoozed';
