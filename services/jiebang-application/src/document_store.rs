//! Document content on disk, addressed by SHA-256: `{dir}/{first two hex digits}/{digest}`.
//!
//! An upload is written to a temporary file while it is hashed; only when size and digest
//! match the declaration is it renamed into place (atomic on one filesystem), so a reader
//! never sees a partial file and a refused upload leaves nothing behind.

use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub struct DocumentStore {
    dir: PathBuf,
}

impl DocumentStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(sha256)
    }

    pub async fn begin(&self) -> io::Result<PendingUpload> {
        let tmp = self.dir.join("tmp");
        tokio::fs::create_dir_all(&tmp).await?;
        let path = tmp.join(uuid::Uuid::new_v4().simple().to_string());
        let file = tokio::fs::File::create(&path).await?;
        Ok(PendingUpload {
            path,
            file: Some(file),
            hasher: Sha256::new(),
            written: 0,
            head: Vec::new(),
        })
    }
}

/// An upload being received. Dropped without [`PendingUpload::keep`], its file is removed.
pub struct PendingUpload {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Sha256,
    written: i64,
    /// The first bytes, to check the content against the declared media type.
    head: Vec<u8>,
}

impl PendingUpload {
    pub fn written(&self) -> i64 {
        self.written
    }

    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        if self.head.len() < 16 {
            let take = (16 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.written += i64::try_from(chunk.len()).unwrap_or(i64::MAX);
        match &mut self.file {
            Some(file) => file.write_all(chunk).await,
            None => Err(io::Error::other("upload already finished")),
        }
    }

    /// Flushes to disk and returns the digest of everything written.
    pub async fn finish(&mut self) -> io::Result<String> {
        if let Some(mut file) = self.file.take() {
            file.flush().await?;
            file.sync_all().await?;
        }
        Ok(hex::encode(self.hasher.clone().finalize()))
    }

    /// Moves the verified content into place. Content already stored stays as it is.
    pub async fn keep(self, store: &DocumentStore, sha256: &str) -> io::Result<()> {
        let target = store.path_of(sha256);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            return Ok(()); // Dropping self removes the temporary copy.
        }
        tokio::fs::rename(&self.path, &target).await
    }
}

impl Drop for PendingUpload {
    fn drop(&mut self) {
        // Best effort; the file may already have been renamed into place.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Opens stored content for reading at `offset`.
pub async fn open_at(path: &Path, offset: u64) -> io::Result<tokio::fs::File> {
    use tokio::io::AsyncSeekExt;
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(io::SeekFrom::Start(offset)).await?;
    Ok(file)
}
