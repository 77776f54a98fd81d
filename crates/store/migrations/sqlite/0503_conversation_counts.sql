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
