-- Each account's size rule as an admin chose it from Discord (/account size) or the CLI (`tradebot
-- account size`), issue 12. A row here wins over the account's [[accounts]] table (multiplier or
-- contracts); no row: the table's rule. Keyed by the account's name as [[accounts]] gives it (lower
-- case): the CLI can store a rule for the next start before any engine has learnt the account's id.
CREATE TABLE account_size_rules (
    account    text        PRIMARY KEY CHECK (account = lower(account) AND account <> ''),
    multiplier numeric     CHECK (multiplier > 0),
    contracts  integer     CHECK (contracts >= 1),
    changed_by text        NOT NULL DEFAULT '',
    changed_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((multiplier IS NULL) <> (contracts IS NULL))
);
