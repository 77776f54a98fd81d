//! Uploaded files on their way to becoming attachments: staged on disk while the request
//! body streams in, then moved into place when the message is stored; and the per-account
//! storage quota.
//!
//! Why on disk: holding each file in memory until the message was stored let ten
//! concurrent uploads pin a gigabyte. A staged file lives in `<files_dir>/tmp/` (the same
//! file system as its final place, so storing it is a rename) and is removed when its
//! last handle is dropped unless it was moved, so a refused or cancelled request leaves
//! nothing behind. Files left by a crash are swept at start ([`clear_staging`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use parley_store::random_token;
use tokio::io::AsyncWriteExt;

use crate::{Result, ServiceError, Services};

/// The staging directory under the files directory.
pub fn staging_dir(files_dir: &Path) -> PathBuf {
    files_dir.join("tmp")
}

/// Removes whatever a previous run left in the staging directory (uploads cut off by a
/// crash). Called at start, before any request is served.
pub fn clear_staging(files_dir: &Path) {
    let dir = staging_dir(files_dir);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A complete staged file. Removed from disk when dropped, unless moved away first.
#[derive(Debug)]
pub struct StagedFile {
    path: PathBuf,
    len: u64,
}

impl StagedFile {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        // After a successful move the file is gone and this fails quietly.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The bytes of an upload: in memory (small or internal ones) or staged on disk.
#[derive(Debug, Clone)]
pub enum UploadData {
    Memory(Bytes),
    Staged(Arc<StagedFile>),
}

impl UploadData {
    /// The size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            UploadData::Memory(b) => b.len() as u64,
            UploadData::Staged(f) => f.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts the bytes at `path` (a rename for a staged file).
    pub(crate) async fn store_at(&self, path: &Path) -> std::io::Result<()> {
        match self {
            UploadData::Memory(b) => tokio::fs::write(path, b).await,
            UploadData::Staged(f) => tokio::fs::rename(f.path(), path).await,
        }
    }
}

/// A file being received: bytes are appended as they arrive.
pub struct Staging {
    file: tokio::fs::File,
    staged: StagedFile,
}

impl Staging {
    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.file
            .write_all(chunk)
            .await
            .map_err(|e| ServiceError::Internal(format!("staging upload: {e}")))?;
        self.staged.len += chunk.len() as u64;
        Ok(())
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.staged.len
    }

    pub fn is_empty(&self) -> bool {
        self.staged.len == 0
    }

    /// The complete file.
    pub async fn finish(mut self) -> Result<UploadData> {
        self.file
            .flush()
            .await
            .map_err(|e| ServiceError::Internal(format!("staging upload: {e}")))?;
        Ok(UploadData::Staged(Arc::new(self.staged)))
    }
}

impl Services {
    /// Starts receiving an uploaded file into the staging directory.
    pub async fn stage_upload(&self) -> Result<Staging> {
        let dir = staging_dir(&self.config.files_dir);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| ServiceError::Internal(format!("creating {dir:?}: {e}")))?;
        let path = dir.join(random_token(16));
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| ServiceError::Internal(format!("creating {path:?}: {e}")))?;
        Ok(Staging {
            file,
            staged: StagedFile { path, len: 0 },
        })
    }

    /// Refuses `incoming` more bytes for `account_id` when they would take its stored
    /// attachments past `max_account_storage_bytes` (0 = no quota). Checked before a body
    /// is read when its size is declared, and again with the real sizes before storing.
    /// Concurrent uploads may each pass and together overshoot by one upload each: the
    /// quota bounds storage, it is not an exact ledger.
    pub async fn check_storage_quota(&self, account_id: i64, incoming: u64) -> Result<()> {
        let quota = self.config.max_account_storage_bytes;
        if quota == 0 || incoming == 0 {
            return Ok(());
        }
        let used = u64::try_from(self.store.attachment_bytes(account_id).await?).unwrap_or(0);
        if used.saturating_add(incoming) > quota {
            metrics::counter!("parley_storage_quota_refusals_total").increment(1);
            return Err(ServiceError::QuotaExceeded);
        }
        Ok(())
    }
}
