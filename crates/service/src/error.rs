use parley_core::validate::FieldError;
use parley_store::StoreError;
use thiserror::Error;

/// Why a use case refused or failed. The HTTP layer maps each kind to one status code;
/// `NotFound` is also what a caller gets for another tenant's objects, so existence never leaks.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// A bounded resource (password hashing) is saturated: try again after
    /// `retry_after_secs` (answered 503 with `Retry-After`).
    #[error("the server is busy, try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// The account's stored files would exceed `max_account_storage_bytes`.
    #[error("the account's storage quota is used up")]
    QuotaExceeded,
    /// A budget of a rate limit is spent (sign-in attempts, the Client API's budgets); it
    /// renews in `retry_after_secs` (the API says so in `Retry-After`).
    #[error("too many requests, try again in {retry_after_secs} s")]
    RetryAfter { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
    /// The database cannot store anything right now (disk full, read-only, I/O error,
    /// server unreachable): the caller may retry later; nothing of the request was stored.
    #[error("storage unavailable ({cause}): {detail}")]
    Unavailable {
        cause: parley_store::Unavailable,
        detail: String,
    },
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound("record"),
            StoreError::Conflict(c) => ServiceError::Conflict(format!("already exists ({c})")),
            StoreError::Unavailable { cause, detail } => {
                ServiceError::Unavailable { cause, detail }
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

/// The error of writing an account's uniquely named definition (label title, team name,
/// canned short code): a uniqueness conflict is a 409 saying `taken`, a missing row a 404
/// naming `what`. Kept in one place so all such resources answer alike.
pub(crate) fn taken_or_not_found(
    e: StoreError,
    what: &'static str,
    taken: &'static str,
) -> ServiceError {
    match e {
        StoreError::Conflict(_) => ServiceError::Conflict(taken.into()),
        StoreError::NotFound => ServiceError::NotFound(what),
        other => other.into(),
    }
}

/// Names the missing thing when the store says "not found".
pub trait OrNotFound<T> {
    fn or_not_found(self, what: &'static str) -> Result<T, ServiceError>;
}

impl<T> OrNotFound<T> for Result<T, StoreError> {
    fn or_not_found(self, what: &'static str) -> Result<T, ServiceError> {
        self.map_err(|e| match e {
            StoreError::NotFound => ServiceError::NotFound(what),
            other => other.into(),
        })
    }
}

impl<T> OrNotFound<T> for Result<Option<T>, StoreError> {
    fn or_not_found(self, what: &'static str) -> Result<T, ServiceError> {
        match self {
            Ok(Some(v)) => Ok(v),
            Ok(None) | Err(StoreError::NotFound) => Err(ServiceError::NotFound(what)),
            Err(other) => Err(other.into()),
        }
    }
}
