-- The conversation list's tab counts, kept up to date by triggers: one row per account,
-- inbox, team, assignee and status with the number of conversations in it. Counting a tab
-- is then a sum over a few hundred rows instead of a scan of the account's conversations,
-- exact at any size (the list of a million conversations used to count up to a cap).
-- 0 stands for "no team" and "no assignee" so the key has no NULLs.
CREATE TABLE conversation_counts (
    account_id INTEGER NOT NULL,
    inbox_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    assignee_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_id, status, inbox_id, team_id, assignee_id)
);

INSERT INTO conversation_counts (account_id, inbox_id, team_id, assignee_id, status, n)
SELECT account_id, inbox_id, COALESCE(team_id, 0), COALESCE(assignee_id, 0), status, COUNT(*)
FROM conversations GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER conversation_counts_insert AFTER INSERT ON conversations
BEGIN
    INSERT INTO conversation_counts (account_id, inbox_id, team_id, assignee_id, status, n)
    VALUES (NEW.account_id, NEW.inbox_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0), NEW.status, 1)
    ON CONFLICT (account_id, status, inbox_id, team_id, assignee_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER conversation_counts_delete AFTER DELETE ON conversations
BEGIN
    UPDATE conversation_counts SET n = n - 1
    WHERE account_id = OLD.account_id AND status = OLD.status AND inbox_id = OLD.inbox_id
      AND team_id = COALESCE(OLD.team_id, 0) AND assignee_id = COALESCE(OLD.assignee_id, 0);
END;

CREATE TRIGGER conversation_counts_update AFTER UPDATE OF status, assignee_id, inbox_id, team_id, account_id ON conversations
WHEN OLD.status IS NOT NEW.status OR OLD.assignee_id IS NOT NEW.assignee_id
  OR OLD.inbox_id IS NOT NEW.inbox_id OR OLD.team_id IS NOT NEW.team_id OR OLD.account_id IS NOT NEW.account_id
BEGIN
    UPDATE conversation_counts SET n = n - 1
    WHERE account_id = OLD.account_id AND status = OLD.status AND inbox_id = OLD.inbox_id
      AND team_id = COALESCE(OLD.team_id, 0) AND assignee_id = COALESCE(OLD.assignee_id, 0);
    INSERT INTO conversation_counts (account_id, inbox_id, team_id, assignee_id, status, n)
    VALUES (NEW.account_id, NEW.inbox_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0), NEW.status, 1)
    ON CONFLICT (account_id, status, inbox_id, team_id, assignee_id) DO UPDATE SET n = n + 1;
END;

-- The same counts under one label (the console's label filter), one row per label and
-- bucket. Label rows follow their conversation: adding or removing a label moves one
-- count, a change of status, assignee, inbox or team moves one per label, and a deleted
-- conversation takes its labels' counts with it before its labels are cascaded away.
CREATE TABLE conversation_label_counts (
    account_id INTEGER NOT NULL,
    label TEXT NOT NULL,
    inbox_id INTEGER NOT NULL,
    team_id INTEGER NOT NULL,
    assignee_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_id, label, status, inbox_id, team_id, assignee_id)
);

INSERT INTO conversation_label_counts (account_id, label, inbox_id, team_id, assignee_id, status, n)
SELECT c.account_id, cl.label, c.inbox_id, COALESCE(c.team_id, 0), COALESCE(c.assignee_id, 0), c.status, COUNT(*)
FROM conversation_labels cl JOIN conversations c ON c.id = cl.conversation_id GROUP BY 1, 2, 3, 4, 5, 6;

CREATE TRIGGER conversation_label_counts_insert AFTER INSERT ON conversation_labels
BEGIN
    INSERT INTO conversation_label_counts (account_id, label, inbox_id, team_id, assignee_id, status, n)
    SELECT c.account_id, NEW.label, c.inbox_id, COALESCE(c.team_id, 0), COALESCE(c.assignee_id, 0), c.status, 1
    FROM conversations c WHERE c.id = NEW.conversation_id
    ON CONFLICT (account_id, label, status, inbox_id, team_id, assignee_id) DO UPDATE SET n = n + 1;
END;

-- When the conversation itself is being deleted it is already gone here and nothing
-- matches: its BEFORE DELETE trigger below has taken the counts.
CREATE TRIGGER conversation_label_counts_delete AFTER DELETE ON conversation_labels
BEGIN
    UPDATE conversation_label_counts SET n = n - 1
    WHERE label = OLD.label AND (account_id, status, inbox_id, team_id, assignee_id) IN (
        SELECT c.account_id, c.status, c.inbox_id, COALESCE(c.team_id, 0), COALESCE(c.assignee_id, 0)
        FROM conversations c WHERE c.id = OLD.conversation_id);
END;

CREATE TRIGGER conversation_label_counts_conversation_delete BEFORE DELETE ON conversations
BEGIN
    UPDATE conversation_label_counts SET n = n - 1
    WHERE account_id = OLD.account_id AND status = OLD.status AND inbox_id = OLD.inbox_id
      AND team_id = COALESCE(OLD.team_id, 0) AND assignee_id = COALESCE(OLD.assignee_id, 0)
      AND label IN (SELECT label FROM conversation_labels WHERE conversation_id = OLD.id);
END;

CREATE TRIGGER conversation_label_counts_update AFTER UPDATE OF status, assignee_id, inbox_id, team_id, account_id ON conversations
WHEN OLD.status IS NOT NEW.status OR OLD.assignee_id IS NOT NEW.assignee_id
  OR OLD.inbox_id IS NOT NEW.inbox_id OR OLD.team_id IS NOT NEW.team_id OR OLD.account_id IS NOT NEW.account_id
BEGIN
    UPDATE conversation_label_counts SET n = n - 1
    WHERE account_id = OLD.account_id AND status = OLD.status AND inbox_id = OLD.inbox_id
      AND team_id = COALESCE(OLD.team_id, 0) AND assignee_id = COALESCE(OLD.assignee_id, 0)
      AND label IN (SELECT label FROM conversation_labels WHERE conversation_id = OLD.id);
    INSERT INTO conversation_label_counts (account_id, label, inbox_id, team_id, assignee_id, status, n)
    SELECT NEW.account_id, label, NEW.inbox_id, COALESCE(NEW.team_id, 0), COALESCE(NEW.assignee_id, 0), NEW.status, 1
    FROM conversation_labels WHERE conversation_id = NEW.id
    ON CONFLICT (account_id, label, status, inbox_id, team_id, assignee_id) DO UPDATE SET n = n + 1;
END;

-- The assignee ("Mine"), inbox and team indexes end in the list's order with id breaking
-- ties, so a filtered page is read from its index in order instead of filtering another.
DROP INDEX conversations_assignee;
CREATE INDEX conversations_assignee ON conversations(account_id, assignee_id, status, last_activity_at DESC, id DESC);
DROP INDEX conversations_inbox;
CREATE INDEX conversations_inbox ON conversations(inbox_id, status, last_activity_at DESC, id DESC);
DROP INDEX conversations_team;
CREATE INDEX conversations_team ON conversations(team_id, status, last_activity_at DESC, id DESC);
