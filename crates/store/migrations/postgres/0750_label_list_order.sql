-- A label's page of the conversation list as an index range (issue 15). The list is ordered
-- by the conversation's last activity; with a label filter PostgreSQL walked the account's
-- recency index and probed each row's labels: ~2,500 rows for a page of 25 when the label
-- is on 1 % of a million conversations (5–8 ms, docs/benchmarks.md, session 11). Each label
-- row now carries its conversation's account and last activity, kept equal to the
-- conversation's by the triggers below (in the same statement as the change), so the page is
-- read in order from (account, label, activity).
ALTER TABLE conversation_labels ADD COLUMN account_id BIGINT;
ALTER TABLE conversation_labels ADD COLUMN last_activity_at BIGINT;

UPDATE conversation_labels cl SET account_id = c.account_id, last_activity_at = c.last_activity_at
FROM conversations c WHERE c.id = cl.conversation_id;

ALTER TABLE conversation_labels ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE conversation_labels ALTER COLUMN last_activity_at SET NOT NULL;

-- Whether the conversation has (had) a label, so the message path's update of an unlabelled
-- conversation does not call the trigger that moves label rows at all (a WHEN condition on
-- the row itself; a plpgsql call costs more than the single-row update it follows). It is
-- not cleared when the last label goes: a stale true only costs that call.
ALTER TABLE conversations ADD COLUMN labelled BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE conversations SET labelled = TRUE
WHERE id IN (SELECT DISTINCT conversation_id FROM conversation_labels);

-- Writers insert (conversation_id, label) only; the copy of the sort key comes from the row.
CREATE FUNCTION conversation_labels_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.account_id, c.last_activity_at INTO NEW.account_id, NEW.last_activity_at
    FROM conversations c WHERE c.id = NEW.conversation_id;
    UPDATE conversations SET labelled = TRUE WHERE id = NEW.conversation_id AND NOT labelled;
    RETURN NEW;
END
$$;

CREATE TRIGGER conversation_labels_fill BEFORE INSERT ON conversation_labels
FOR EACH ROW EXECUTE FUNCTION conversation_labels_fill();

-- Every message moves its conversation's activity; a labelled conversation's label rows
-- follow in the same statement.
CREATE FUNCTION conversation_labels_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversation_labels SET last_activity_at = NEW.last_activity_at, account_id = NEW.account_id
    WHERE conversation_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversation_labels_follow AFTER UPDATE OF last_activity_at, account_id ON conversations
FOR EACH ROW
WHEN (NEW.labelled AND (OLD.last_activity_at IS DISTINCT FROM NEW.last_activity_at
                        OR OLD.account_id IS DISTINCT FROM NEW.account_id))
EXECUTE FUNCTION conversation_labels_follow();

CREATE INDEX conversation_labels_list
ON conversation_labels(account_id, label, last_activity_at DESC, conversation_id DESC);
