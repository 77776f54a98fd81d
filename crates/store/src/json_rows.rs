//! A batch's rows as one JSON parameter.
//!
//! The group-commit writer inserts and updates many rows per statement. As a multi-row
//! `VALUES` list, each batch size is a statement text of its own (prepared anew, churning
//! sqlx's statement cache), and on SQLite sqlx's binding cost grows with the square of the
//! placeholders (docs/benchmarks.md, session 16). As one JSON array bound as `$1`, the text
//! is the same for every batch; each backend reads it with its own JSON functions.

use crate::Backend;

/// `SELECT <name>, … FROM …` over the JSON array of objects bound as `$1`, each object
/// holding the columns `cols` (`(name, PostgreSQL type)`) by name; a missing key reads as
/// NULL. Use it as a subquery or after `INSERT INTO t (…)`.
pub(crate) fn rows_of_param(backend: Backend, cols: &[(&str, &str)]) -> String {
    let names = cols.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    if backend == Backend::Postgres {
        let types = cols
            .iter()
            .map(|(n, t)| format!("{n} {t}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("SELECT {names} FROM json_to_recordset($1::json) AS j({types})")
    } else {
        // `jsonb_each`: each row object comes out in SQLite's binary JSON, which `->>` reads
        // as it is. With `json_each` every object was turned back into text and parsed again
        // for its fields, which was a quarter of the message writer's time in SQLite.
        let fields = cols
            .iter()
            .map(|(n, _)| format!("j.value ->> '$.{n}' AS {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("SELECT {fields} FROM jsonb_each($1) j")
    }
}
