//! Every statement the stores run, SQLite's text beside PostgreSQL's. Where the two
//! differ it is in the placeholders (`?1` / `$1`), in PostgreSQL's row locks (`FOR
//! UPDATE`; SQLite's write transactions hold the whole file), and in how key rows are
//! ordered (SQLite's `rowid`, PostgreSQL's `seq` column). The tables are the same
//! (`"user"` is quoted: a reserved word in PostgreSQL).

use super::sql::Sql;

/// The same text in both dialects (a statement with no parameters).
macro_rules! both {
    ($text:literal) => {
        Sql {
            sqlite: $text,
            postgres: $text,
        }
    };
}

pub(crate) const COUNT_COMPANIES: Sql = both!("SELECT COUNT(*) FROM companies");
/// One row, one `BIGINT` (what `count` reads on both backends).
pub(crate) const PING: Sql = both!("SELECT CAST(1 AS BIGINT)");

pub(crate) const ADD_COMPANY: Sql = Sql {
    sqlite: "INSERT INTO companies (id, tier, parent) VALUES (?1, ?2, ?3)",
    postgres: "INSERT INTO companies (id, tier, parent) VALUES ($1, $2, $3)",
};

pub(crate) const COMPANY: Sql = Sql {
    sqlite: "SELECT tier, parent FROM companies WHERE id = ?1",
    postgres: "SELECT tier, parent FROM companies WHERE id = $1",
};

pub(crate) const ADD_USER: Sql = Sql {
    sqlite: "INSERT INTO users (id, record, username, password_hash) VALUES (?1, ?2, ?3, ?4)",
    postgres: "INSERT INTO users (id, record, username, password_hash) VALUES ($1, $2, $3, $4)",
};

pub(crate) const LOGIN_USER: Sql = Sql {
    sqlite: "SELECT record, password_hash FROM users WHERE username = ?1",
    postgres: "SELECT record, password_hash FROM users WHERE username = $1",
};

/// A company's users (by the company in their record), with their usernames.
pub(crate) const USERS_OF: Sql = Sql {
    sqlite: "SELECT record, username FROM users
        WHERE json_extract(record, '$.company') = ?1 ORDER BY id",
    postgres: "SELECT record, username FROM users
        WHERE record::jsonb->>'company' = $1 ORDER BY id",
};

/// One user of a company.
pub(crate) const USER_OF: Sql = Sql {
    sqlite: "SELECT record FROM users WHERE id = ?1 AND json_extract(record, '$.company') = ?2",
    postgres: "SELECT record FROM users WHERE id = $1 AND record::jsonb->>'company' = $2",
};

/// Whether a user id or a username is taken.
pub(crate) const USER_TAKEN: Sql = Sql {
    sqlite: "SELECT COUNT(*) FROM users WHERE id = ?1 OR username = ?2",
    postgres: "SELECT COUNT(*) FROM users WHERE id = $1 OR username = $2",
};

/// A user's record replaced (its role or status changed).
pub(crate) const SET_USER: Sql = Sql {
    sqlite: "UPDATE users SET record = ?2 WHERE id = ?1",
    postgres: "UPDATE users SET record = $2 WHERE id = $1",
};

pub(crate) const DELETE_USER: Sql = Sql {
    sqlite: "DELETE FROM users WHERE id = ?1",
    postgres: "DELETE FROM users WHERE id = $1",
};

pub(crate) const SET_TIER: Sql = Sql {
    sqlite: "UPDATE companies SET tier = ?2 WHERE id = ?1",
    postgres: "UPDATE companies SET tier = $2 WHERE id = $1",
};

pub(crate) const SET_PARENT: Sql = Sql {
    sqlite: "UPDATE companies SET parent = ?2 WHERE id = ?1",
    postgres: "UPDATE companies SET parent = $2 WHERE id = $1",
};

/// Every grant for a company (its link to a parent is gone).
pub(crate) const DELETE_GRANTS_FOR: Sql = Sql {
    sqlite: "DELETE FROM grants WHERE company = ?1",
    postgres: "DELETE FROM grants WHERE company = $1",
};

pub(crate) const DELETE_GRANT: Sql = Sql {
    sqlite: r#"DELETE FROM grants WHERE "user" = ?1 AND company = ?2"#,
    postgres: r#"DELETE FROM grants WHERE "user" = $1 AND company = $2"#,
};

/// A user's password hash, by username: the user's id and record.
pub(crate) const SET_PASSWORD: Sql = Sql {
    sqlite: "UPDATE users SET password_hash = ?2 WHERE username = ?1 RETURNING id",
    postgres: "UPDATE users SET password_hash = $2 WHERE username = $1 RETURNING id",
};

/// A grant, or its new end if it exists already (`NULL`: none).
pub(crate) const GRANT: Sql = Sql {
    sqlite: r#"INSERT INTO grants ("user", company, expires_at) VALUES (?1, ?2, ?3)
        ON CONFLICT ("user", company) DO UPDATE SET expires_at = excluded.expires_at"#,
    postgres: r#"INSERT INTO grants ("user", company, expires_at) VALUES ($1, $2, $3)
        ON CONFLICT ("user", company) DO UPDATE SET expires_at = excluded.expires_at"#,
};

pub(crate) const ADD_TOKEN: Sql = Sql {
    sqlite: r#"INSERT INTO tokens (digest, id, "user", record) VALUES (?1, ?2, ?3, ?4)"#,
    postgres: r#"INSERT INTO tokens (digest, id, "user", record) VALUES ($1, $2, $3, $4)"#,
};

/// A token to revoke, its row locked until the commit.
pub(crate) const TOKEN_FOR_UPDATE: Sql = Sql {
    sqlite: "SELECT record FROM tokens WHERE digest = ?1",
    postgres: "SELECT record FROM tokens WHERE digest = $1 FOR UPDATE",
};

/// A user's tokens to revoke, their rows locked until the commit.
pub(crate) const TOKENS_OF_FOR_UPDATE: Sql = Sql {
    sqlite: r#"SELECT digest, record FROM tokens WHERE "user" = ?1"#,
    postgres: r#"SELECT digest, record FROM tokens WHERE "user" = $1 FOR UPDATE"#,
};

pub(crate) const ALL_TOKENS: Sql = both!("SELECT digest, record FROM tokens");

pub(crate) const SET_TOKEN: Sql = Sql {
    sqlite: "UPDATE tokens SET record = ?2 WHERE digest = ?1",
    postgres: "UPDATE tokens SET record = $2 WHERE digest = $1",
};

pub(crate) const DELETE_TOKEN: Sql = Sql {
    sqlite: "DELETE FROM tokens WHERE digest = ?1",
    postgres: "DELETE FROM tokens WHERE digest = $1",
};

pub(crate) const ADD_KEY_USER: Sql = Sql {
    sqlite: "INSERT INTO users (id, record) VALUES (?1, ?2)",
    postgres: "INSERT INTO users (id, record) VALUES ($1, $2)",
};

pub(crate) const ADD_KEY: Sql = Sql {
    sqlite: "INSERT INTO api_keys (digest, id, company, record) VALUES (?1, ?2, ?3, ?4)",
    postgres: "INSERT INTO api_keys (digest, id, company, record) VALUES ($1, $2, $3, $4)",
};

/// A company's keys, oldest first, each with when it was last used.
pub(crate) const KEYS_OF: Sql = Sql {
    sqlite: "SELECT record, last_used FROM api_keys WHERE company = ?1 ORDER BY rowid",
    postgres: "SELECT record, last_used FROM api_keys WHERE company = $1 ORDER BY seq",
};

/// A key's last use, moved forward only (a late or repeated write changes nothing).
pub(crate) const TOUCH_KEY: Sql = Sql {
    sqlite: "UPDATE api_keys SET last_used = ?2 WHERE id = ?1 AND (last_used IS NULL OR last_used < ?2)",
    postgres: "UPDATE api_keys SET last_used = $2 WHERE id = $1 AND (last_used IS NULL OR last_used < $2)",
};

/// A company's key by id, its row locked until the commit (two revocations of one key
/// through two servers answer 200 and 409).
pub(crate) const KEY_OF_FOR_UPDATE: Sql = Sql {
    sqlite: "SELECT digest, record FROM api_keys WHERE id = ?1 AND company = ?2",
    postgres: "SELECT digest, record FROM api_keys WHERE id = $1 AND company = $2 FOR UPDATE",
};

pub(crate) const SET_KEY: Sql = Sql {
    sqlite: "UPDATE api_keys SET record = ?2 WHERE digest = ?1",
    postgres: "UPDATE api_keys SET record = $2 WHERE digest = $1",
};

pub(crate) const DELETE_KEY: Sql = Sql {
    sqlite: "DELETE FROM api_keys WHERE digest = ?1",
    postgres: "DELETE FROM api_keys WHERE digest = $1",
};

/// What authenticating an API key reads, in one statement (one round trip, one
/// snapshot): always one row of the key's record (`NULL` if there is none), 1 if a key
/// with that digest was deleted, the record of the user the key names, and that user's
/// grants as a JSON array of `{"company", "expires_at"}` (Unix seconds or `null`),
/// sorted by company, the definition of the user's custom role when the user's
/// company defines the one the user holds, and the user's company's tier and parent.
pub(crate) const LOAD_KEY: Sql = Sql {
    sqlite: r#"SELECT k.record,
            EXISTS (SELECT 1 FROM deleted_keys WHERE digest = ?1),
            u.record,
            (SELECT json_group_array(json_object('company', company, 'expires_at', expires_at)) FROM
                (SELECT company, expires_at FROM grants WHERE "user" = u.id ORDER BY company)),
            (SELECT r.record FROM custom_roles r
                WHERE r.company = json_extract(u.record, '$.company')
                AND r.name = json_extract(u.record, '$.custom_role')),
            c.tier, c.parent
        FROM (SELECT 1) AS one
        LEFT JOIN api_keys k ON k.digest = ?1
        LEFT JOIN users u ON u.id = json_extract(k.record, '$.user')
        LEFT JOIN companies c ON c.id = json_extract(u.record, '$.company')"#,
    postgres: r#"SELECT k.record,
            (CASE WHEN EXISTS (SELECT 1 FROM deleted_keys WHERE digest = $1) THEN 1 ELSE 0 END)::bigint,
            u.record,
            (SELECT json_agg(json_build_object('company', company, 'expires_at', expires_at) ORDER BY company)
                FROM grants WHERE "user" = u.id)::text,
            (SELECT r.record FROM custom_roles r
                WHERE r.company = (u.record::json ->> 'company')
                AND r.name = (u.record::json ->> 'custom_role')),
            c.tier, c.parent
        FROM (SELECT 1) AS one
        LEFT JOIN api_keys k ON k.digest = $1
        LEFT JOIN users u ON u.id = (k.record::json ->> 'user')
        LEFT JOIN companies c ON c.id = (u.record::json ->> 'company')"#,
};

/// [`LOAD_KEY`] for a bearer token: its record, 0, its user's record, the grants, the
/// custom role's definition, the user's company's tier and parent.
pub(crate) const LOAD_TOKEN: Sql = Sql {
    sqlite: r#"SELECT t.record, 0, u.record,
            (SELECT json_group_array(json_object('company', company, 'expires_at', expires_at)) FROM
                (SELECT company, expires_at FROM grants WHERE "user" = u.id ORDER BY company)),
            (SELECT r.record FROM custom_roles r
                WHERE r.company = json_extract(u.record, '$.company')
                AND r.name = json_extract(u.record, '$.custom_role')),
            c.tier, c.parent
        FROM (SELECT 1) AS one
        LEFT JOIN tokens t ON t.digest = ?1
        LEFT JOIN users u ON u.id = t."user"
        LEFT JOIN companies c ON c.id = json_extract(u.record, '$.company')"#,
    postgres: r#"SELECT t.record, 0::bigint, u.record,
            (SELECT json_agg(json_build_object('company', company, 'expires_at', expires_at) ORDER BY company)
                FROM grants WHERE "user" = u.id)::text,
            (SELECT r.record FROM custom_roles r
                WHERE r.company = (u.record::json ->> 'company')
                AND r.name = (u.record::json ->> 'custom_role')),
            c.tier, c.parent
        FROM (SELECT 1) AS one
        LEFT JOIN tokens t ON t.digest = $1
        LEFT JOIN users u ON u.id = t."user"
        LEFT JOIN companies c ON c.id = (u.record::json ->> 'company')"#,
};

pub(crate) const REMEMBER_DELETED_KEY: Sql = Sql {
    sqlite: "INSERT INTO deleted_keys (digest) VALUES (?1) ON CONFLICT DO NOTHING",
    postgres: "INSERT INTO deleted_keys (digest) VALUES ($1) ON CONFLICT DO NOTHING",
};

/// A company's budget, locked until the commit. PostgreSQL makes a missing row (from
/// the second argument, a fresh state) so that there is a row to lock, and returns what
/// it holds: one round trip. SQLite's write transaction already holds the file.
pub(crate) const LOCK_BUDGET: Sql = Sql {
    sqlite: "SELECT state FROM budgets WHERE company = ?1",
    postgres: "INSERT INTO budgets (company, state) VALUES ($1, $2)
        ON CONFLICT (company) DO UPDATE SET state = budgets.state RETURNING state",
};

/// A company's budget as last written (no lock: on SQLite the server is the file's
/// only writer and holds the budget in memory from here on).
pub(crate) const BUDGET: Sql = Sql {
    sqlite: "SELECT state FROM budgets WHERE company = ?1",
    postgres: "SELECT state FROM budgets WHERE company = $1",
};

pub(crate) const SET_BUDGET: Sql = Sql {
    sqlite: "INSERT INTO budgets (company, state) VALUES (?1, ?2)
        ON CONFLICT (company) DO UPDATE SET state = excluded.state",
    postgres: "INSERT INTO budgets (company, state) VALUES ($1, $2)
        ON CONFLICT (company) DO UPDATE SET state = excluded.state",
};

/// An API key's own budget, locked as [`LOCK_BUDGET`] locks a company's.
pub(crate) const LOCK_KEY_BUDGET: Sql = Sql {
    sqlite: "SELECT state FROM key_budgets WHERE key_id = ?1",
    postgres: "INSERT INTO key_budgets (key_id, state) VALUES ($1, $2)
        ON CONFLICT (key_id) DO UPDATE SET state = key_budgets.state RETURNING state",
};

/// An API key's own budget as last written, as [`BUDGET`] reads a company's.
pub(crate) const KEY_BUDGET: Sql = Sql {
    sqlite: "SELECT state FROM key_budgets WHERE key_id = ?1",
    postgres: "SELECT state FROM key_budgets WHERE key_id = $1",
};

pub(crate) const SET_KEY_BUDGET: Sql = Sql {
    sqlite: "INSERT INTO key_budgets (key_id, state) VALUES (?1, ?2)
        ON CONFLICT (key_id) DO UPDATE SET state = excluded.state",
    postgres: "INSERT INTO key_budgets (key_id, state) VALUES ($1, $2)
        ON CONFLICT (key_id) DO UPDATE SET state = excluded.state",
};

/// A company's budget and one of its keys' own, written in one statement (both rows
/// locked by the transaction since they were read). PostgreSQL only: SQLite keeps the
/// budgets in memory and its audit writer writes them (`db/local.rs`), and cannot
/// write two tables in one statement, so its text fails (503) if it is ever run.
pub(crate) const SET_BOTH_BUDGETS: Sql = Sql {
    sqlite: "INSERT INTO postgres_only_statement (company, state, key_id, key_state)
        VALUES (?1, ?2, ?3, ?4)",
    postgres: "WITH company AS (INSERT INTO budgets (company, state) VALUES ($1, $2)
            ON CONFLICT (company) DO UPDATE SET state = excluded.state)
        INSERT INTO key_budgets (key_id, state) VALUES ($3, $4)
        ON CONFLICT (key_id) DO UPDATE SET state = excluded.state",
};

pub(crate) const DELETE_KEY_BUDGET: Sql = Sql {
    sqlite: "DELETE FROM key_budgets WHERE key_id = ?1",
    postgres: "DELETE FROM key_budgets WHERE key_id = $1",
};

/// A failure budget, locked as [`LOCK_BUDGET`] locks a company's.
pub(crate) const LOCK_FAILURES: Sql = Sql {
    sqlite: "SELECT state FROM failures WHERE key = ?1",
    postgres: "INSERT INTO failures (key, state) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET state = failures.state RETURNING state",
};

pub(crate) const SET_FAILURES: Sql = Sql {
    sqlite: "INSERT INTO failures (key, state) VALUES (?1, ?2)
        ON CONFLICT (key) DO UPDATE SET state = excluded.state",
    postgres: "INSERT INTO failures (key, state) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET state = excluded.state",
};

pub(crate) const ALL_FAILURES: Sql = both!("SELECT key, state FROM failures");

pub(crate) const DELETE_FAILURES: Sql = Sql {
    sqlite: "DELETE FROM failures WHERE key = ?1",
    postgres: "DELETE FROM failures WHERE key = $1",
};

/// A commit's audit records, in one statement: `?1` is a JSON array of objects
/// `{"record", "time", "aggregate", "count", "company", "principal_company", "kind",
/// "decision_id"}`, inserted in its order. A throttled client's refusals in one window
/// are one row (`aggregate`), counted: a row already there adds the new count (the
/// array holds each aggregate once).
pub(crate) const AUDIT_MANY: Sql = Sql {
    sqlite: "INSERT INTO audit
            (record, time, aggregate, count, company, principal_company, kind, decision_id)
        SELECT json_extract(value, '$.record'), json_extract(value, '$.time'),
            json_extract(value, '$.aggregate'), json_extract(value, '$.count'),
            json_extract(value, '$.company'), json_extract(value, '$.principal_company'),
            json_extract(value, '$.kind'), json_extract(value, '$.decision_id')
        FROM json_each(?1) WHERE true
        ON CONFLICT (aggregate) DO UPDATE SET count = count + excluded.count",
    postgres: "INSERT INTO audit
            (record, time, aggregate, count, company, principal_company, kind, decision_id)
        SELECT x.record, x.time, x.aggregate, x.count,
            x.company, x.principal_company, x.kind, x.decision_id
        FROM json_to_recordset($1::text::json)
            AS x(record text, time bigint, aggregate text, count bigint,
                company text, principal_company text, kind text, decision_id text)
        ON CONFLICT (aggregate) DO UPDATE SET count = audit.count + excluded.count",
};

/// One audit record (SQLite's commit writes its rows one by one, prepared once):
/// the columns of [`AUDIT_MANY`]'s objects, in its order.
pub(crate) const AUDIT_ONE: Sql = Sql {
    sqlite: "INSERT INTO audit
            (record, time, aggregate, count, company, principal_company, kind, decision_id)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
        ON CONFLICT (aggregate) DO UPDATE SET count = count + excluded.count",
    postgres: "INSERT INTO audit
            (record, time, aggregate, count, company, principal_company, kind, decision_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (aggregate) DO UPDATE SET count = audit.count + excluded.count",
};

/// One page of a company's audit log, newest first: the records it acted in or its
/// people made in another (`?1`), older than the cursor `?2` (a `seq`), from `?3` to
/// before `?4`
/// (Unix seconds; a record from before times were kept counts as 0), of kind `?5`
/// and with decision id `?6` when given, at most `?7`.
pub(crate) const AUDIT_PAGE: Sql = Sql {
    sqlite: "SELECT seq, record, count FROM audit
        WHERE (company = ?1 OR principal_company = ?1) AND seq < ?2
            AND COALESCE(time, 0) >= ?3 AND COALESCE(time, 0) < ?4
            AND (?5 IS NULL OR kind = ?5) AND (?6 IS NULL OR decision_id = ?6)
        ORDER BY seq DESC LIMIT ?7",
    postgres: "SELECT seq, record, count FROM audit
        WHERE (company = $1 OR principal_company = $1) AND seq < $2
            AND COALESCE(time, 0) >= $3 AND COALESCE(time, 0) < $4
            AND ($5::text IS NULL OR kind = $5::text)
            AND ($6::text IS NULL OR decision_id = $6::text)
        ORDER BY seq DESC LIMIT $7",
};

pub(crate) const COUNT_AUDIT: Sql = both!("SELECT COUNT(*) FROM audit");

pub(crate) const ALL_AUDIT: Sql = both!("SELECT record, count FROM audit ORDER BY seq");

pub(crate) const PRUNE_AUDIT: Sql = Sql {
    sqlite: "DELETE FROM audit WHERE time < ?1",
    postgres: "DELETE FROM audit WHERE time < $1",
};

/// A company's own custom roles, by name.
pub(crate) const COMPANY_ROLES: Sql = Sql {
    sqlite: "SELECT record FROM custom_roles WHERE company = ?1 ORDER BY name",
    postgres: "SELECT record FROM custom_roles WHERE company = $1 ORDER BY name",
};

/// A company's custom role, unless it has one by that name (nothing written then).
pub(crate) const ADD_ROLE: Sql = Sql {
    sqlite: "INSERT INTO custom_roles (company, name, record) VALUES (?1, ?2, ?3)
        ON CONFLICT DO NOTHING",
    postgres: "INSERT INTO custom_roles (company, name, record) VALUES ($1, $2, $3)
        ON CONFLICT DO NOTHING",
};

/// A company's custom role's new definition.
pub(crate) const SET_ROLE: Sql = Sql {
    sqlite: "UPDATE custom_roles SET record = ?3 WHERE company = ?1 AND name = ?2",
    postgres: "UPDATE custom_roles SET record = $3 WHERE company = $1 AND name = $2",
};

pub(crate) const DELETE_ROLE: Sql = Sql {
    sqlite: "DELETE FROM custom_roles WHERE company = ?1 AND name = ?2",
    postgres: "DELETE FROM custom_roles WHERE company = $1 AND name = $2",
};

/// Whether a company has a custom role of that name (1 or 0), its row locked until the
/// commit: a deletion and an assignment of the role, each taking it first, never both
/// succeed (the second waits, then finds the role gone, or held).
pub(crate) const ROLE_LOCKED: Sql = Sql {
    sqlite: "SELECT COUNT(*) FROM custom_roles WHERE company = ?1 AND name = ?2",
    postgres: "SELECT COUNT(*) FROM
        (SELECT 1 FROM custom_roles WHERE company = $1 AND name = $2 FOR UPDATE) AS r",
};

/// How many of a company's users hold its custom role of that name.
pub(crate) const ROLE_HOLDERS: Sql = Sql {
    sqlite: "SELECT COUNT(*) FROM users WHERE json_extract(record, '$.company') = ?1
        AND json_extract(record, '$.custom_role') = ?2",
    postgres: "SELECT COUNT(*) FROM users WHERE record::jsonb->>'company' = $1
        AND record::jsonb->>'custom_role' = $2",
};

/// [`USER_OF`], the row locked until the commit (PostgreSQL; SQLite's write
/// transaction holds the file).
pub(crate) const USER_OF_LOCKED: Sql = Sql {
    sqlite: "SELECT record FROM users WHERE id = ?1 AND json_extract(record, '$.company') = ?2",
    postgres: "SELECT record FROM users WHERE id = $1 AND record::jsonb->>'company' = $2
        FOR UPDATE",
};

/// Whether a user other than the second argument has the username.
pub(crate) const USERNAME_TAKEN_BY_OTHER: Sql = Sql {
    sqlite: "SELECT COUNT(*) FROM users WHERE username = ?1 AND id <> ?2",
    postgres: "SELECT COUNT(*) FROM users WHERE username = $1 AND id <> $2",
};

pub(crate) const SET_USERNAME: Sql = Sql {
    sqlite: "UPDATE users SET username = ?2 WHERE id = ?1",
    postgres: "UPDATE users SET username = $2 WHERE id = $1",
};

pub(crate) const SET_PASSWORD_OF: Sql = Sql {
    sqlite: "UPDATE users SET password_hash = ?2 WHERE id = ?1",
    postgres: "UPDATE users SET password_hash = $2 WHERE id = $1",
};
