-- The conversation list's tab counts, kept up to date by a trigger: one row per account,
-- inbox, team, assignee and status with the number of conversations in it. Counting a tab
-- is then a sum over a few hundred rows instead of a scan of the account's conversations,
-- exact at any size (the list of a million conversations used to count up to a cap).
-- 0 stands for "no team" and "no assignee" so the key has no NULLs.
CREATE TABLE conversation_counts (
    account_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    assignee_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (account_id, status, inbox_id, team_id, assignee_id)
);

INSERT INTO conversation_counts (account_id, inbox_id, team_id, assignee_id, status, n)
SELECT account_id, inbox_id, COALESCE(team_id, 0), COALESCE(assignee_id, 0), status, COUNT(*)
FROM conversations GROUP BY 1, 2, 3, 4, 5;

-- An update moves one conversation from the old row to the new one. The two rows are
-- touched in key order, so two transactions moving conversations in opposite directions
-- (open -> resolved and back) lock them in the same order and cannot deadlock.
CREATE FUNCTION conversation_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_key TEXT;
    new_key TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_key := concat_ws('/', OLD.account_id, OLD.status, OLD.inbox_id, COALESCE(OLD.team_id, 0), COALESCE(OLD.assignee_id, 0));
        new_key := concat_ws('/', NEW.account_id, NEW.status, NEW.inbox_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0));
        IF new_key < old_key THEN
            INSERT INTO conversation_counts (account_id, inbox_id, team_id, assignee_id, status, n)
            VALUES (NEW.account_id, NEW.inbox_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0), NEW.status, 1)
            ON CONFLICT (account_id, status, inbox_id, team_id, assignee_id) DO UPDATE SET n = conversation_counts.n + 1;
            UPDATE conversation_counts SET n = n - 1
            WHERE account_id = OLD.account_id AND status = OLD.status AND inbox_id = OLD.inbox_id
              AND team_id = COALESCE(OLD.team_id, 0) AND assignee_id = COALESCE(OLD.assignee_id, 0);
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE conversation_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND status = OLD.status AND inbox_id = OLD.inbox_id
          AND team_id = COALESCE(OLD.team_id, 0) AND assignee_id = COALESCE(OLD.assignee_id, 0);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO conversation_counts (account_id, inbox_id, team_id, assignee_id, status, n)
        VALUES (NEW.account_id, NEW.inbox_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0), NEW.status, 1)
        ON CONFLICT (account_id, status, inbox_id, team_id, assignee_id) DO UPDATE SET n = conversation_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversation_counts_insert_delete AFTER INSERT OR DELETE ON conversations
FOR EACH ROW EXECUTE FUNCTION conversation_counts_apply();

CREATE TRIGGER conversation_counts_update AFTER UPDATE OF status, assignee_id, inbox_id, team_id, account_id ON conversations
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
   OR OLD.inbox_id IS DISTINCT FROM NEW.inbox_id OR OLD.team_id IS DISTINCT FROM NEW.team_id
   OR OLD.account_id IS DISTINCT FROM NEW.account_id)
EXECUTE FUNCTION conversation_counts_apply();

-- The same counts under one label (the console's label filter), one row per label and
-- bucket. Label rows follow their conversation: adding or removing a label moves one
-- count, a change of status, assignee, inbox or team moves one per label, and a deleted
-- conversation takes its labels' counts with it before its labels are cascaded away.
CREATE TABLE conversation_label_counts (
    account_id BIGINT NOT NULL,
    label TEXT NOT NULL,
    inbox_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    assignee_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (account_id, label, status, inbox_id, team_id, assignee_id)
);

INSERT INTO conversation_label_counts (account_id, label, inbox_id, team_id, assignee_id, status, n)
SELECT c.account_id, cl.label, c.inbox_id, COALESCE(c.team_id, 0), COALESCE(c.assignee_id, 0), c.status, COUNT(*)
FROM conversation_labels cl JOIN conversations c ON c.id = cl.conversation_id GROUP BY 1, 2, 3, 4, 5, 6;

-- A label added or removed. When the conversation itself is being deleted it is already
-- gone here and nothing matches: its BEFORE DELETE trigger has taken the counts.
CREATE FUNCTION conversation_label_counts_label() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO conversation_label_counts (account_id, label, inbox_id, team_id, assignee_id, status, n)
        SELECT c.account_id, NEW.label, c.inbox_id, COALESCE(c.team_id, 0), COALESCE(c.assignee_id, 0), c.status, 1
        FROM conversations c WHERE c.id = NEW.conversation_id
        ON CONFLICT (account_id, label, status, inbox_id, team_id, assignee_id) DO UPDATE SET n = conversation_label_counts.n + 1;
    ELSE
        UPDATE conversation_label_counts lc SET n = lc.n - 1
        FROM conversations c
        WHERE c.id = OLD.conversation_id AND lc.label = OLD.label AND lc.account_id = c.account_id
          AND lc.status = c.status AND lc.inbox_id = c.inbox_id AND lc.team_id = COALESCE(c.team_id, 0)
          AND lc.assignee_id = COALESCE(c.assignee_id, 0);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversation_label_counts_label AFTER INSERT OR DELETE ON conversation_labels
FOR EACH ROW EXECUTE FUNCTION conversation_label_counts_label();

-- A conversation deleted (before its labels cascade) or moved to another bucket.
CREATE FUNCTION conversation_label_counts_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversation_label_counts SET n = n - 1
    WHERE account_id = OLD.account_id AND status = OLD.status AND inbox_id = OLD.inbox_id
      AND team_id = COALESCE(OLD.team_id, 0) AND assignee_id = COALESCE(OLD.assignee_id, 0)
      AND label IN (SELECT label FROM conversation_labels WHERE conversation_id = OLD.id);
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO conversation_label_counts (account_id, label, inbox_id, team_id, assignee_id, status, n)
        SELECT NEW.account_id, label, NEW.inbox_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0), NEW.status, 1
        FROM conversation_labels WHERE conversation_id = NEW.id
        ON CONFLICT (account_id, label, status, inbox_id, team_id, assignee_id) DO UPDATE SET n = conversation_label_counts.n + 1;
        RETURN NULL;
    END IF;
    RETURN OLD;
END
$$;

CREATE TRIGGER conversation_label_counts_conversation_delete BEFORE DELETE ON conversations
FOR EACH ROW EXECUTE FUNCTION conversation_label_counts_conversation();

CREATE TRIGGER conversation_label_counts_conversation_update AFTER UPDATE OF status, assignee_id, inbox_id, team_id, account_id ON conversations
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
   OR OLD.inbox_id IS DISTINCT FROM NEW.inbox_id OR OLD.team_id IS DISTINCT FROM NEW.team_id
   OR OLD.account_id IS DISTINCT FROM NEW.account_id)
EXECUTE FUNCTION conversation_label_counts_conversation();

-- The assignee ("Mine"), inbox and team indexes end in the list's order with id breaking
-- ties, so a filtered page is read from its index in order instead of filtering another.
DROP INDEX conversations_assignee;
CREATE INDEX conversations_assignee ON conversations(account_id, assignee_id, status, last_activity_at DESC, id DESC);
DROP INDEX conversations_inbox;
CREATE INDEX conversations_inbox ON conversations(inbox_id, status, last_activity_at DESC, id DESC);
DROP INDEX conversations_team;
CREATE INDEX conversations_team ON conversations(team_id, status, last_activity_at DESC, id DESC);
