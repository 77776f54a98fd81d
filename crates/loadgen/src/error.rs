//! The one error type of the binary. Usage errors are kept apart from run-time failures so
//! `main` can exit with 2 (the command line was wrong, nothing was sent) or 1 (the run
//! failed part-way).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The command line asks for something loadgen refuses to do (a non-loopback target,
    /// more connections than the open-file limit allows, a zero rate…). Nothing was sent.
    #[error("{0}")]
    Usage(String),
    /// The server answered a setup or send request with an unexpected status.
    #[error("{what}: HTTP {status}: {body}")]
    Http {
        what: String,
        status: u16,
        body: String,
    },
    /// The request could not be made (connection refused, timeout, bad JSON back).
    #[error("{what}: {source}")]
    Request {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    /// A WebSocket could not be opened.
    #[error("WebSocket {what}: {message}")]
    Ws { what: String, message: String },
    /// A response had a shape loadgen does not understand.
    #[error("{0}")]
    Protocol(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("store: {0}")]
    Store(#[from] parley_store::StoreError),
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
