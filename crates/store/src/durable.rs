//! Statements with `RETURNING` on the write pool, run to their end.
//!
//! Why: `fetch_one`/`fetch_optional` stop reading after the first row. Outside an explicit
//! transaction the statement commits on its own only when it finishes, so its commit
//! error (a full disk, a lost server) came after the row the caller already had: the
//! insert was answered as done and silently rolled back (issue 12, finding 1). Reading
//! every row (there is one) runs the statement, and its commit, to the end, so a failed
//! commit is an error like any other. Inside an explicit transaction this changes
//! nothing; the transaction's COMMIT reports its own failure.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{QueryAs, QueryScalar};
use sqlx::{Any, AnyPool, FromRow};

/// `fetch_one`/`fetch_optional` for writes: the same results, after the commit.
pub(crate) trait Durable<O> {
    /// The first row, after the statement (and its autocommit) finished.
    async fn fetch_one_durable(self, pool: &AnyPool) -> sqlx::Result<O>;
    /// The first row if any, after the statement (and its autocommit) finished.
    async fn fetch_optional_durable(self, pool: &AnyPool) -> sqlx::Result<Option<O>>;
}

impl<'q, O> Durable<O> for QueryAs<'q, Any, O, AnyArguments>
where
    O: Send + Unpin + for<'r> FromRow<'r, AnyRow> + 'q,
{
    async fn fetch_one_durable(self, pool: &AnyPool) -> sqlx::Result<O> {
        self.fetch_optional_durable(pool)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    async fn fetch_optional_durable(self, pool: &AnyPool) -> sqlx::Result<Option<O>> {
        Ok(self.fetch_all(pool).await?.into_iter().next())
    }
}

impl<'q, O> Durable<O> for QueryScalar<'q, Any, O, AnyArguments>
where
    O: Send + Unpin + 'q,
    (O,): for<'r> FromRow<'r, AnyRow>,
{
    async fn fetch_one_durable(self, pool: &AnyPool) -> sqlx::Result<O> {
        self.fetch_optional_durable(pool)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    async fn fetch_optional_durable(self, pool: &AnyPool) -> sqlx::Result<Option<O>> {
        Ok(self.fetch_all(pool).await?.into_iter().next())
    }
}
