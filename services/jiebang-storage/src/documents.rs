//! Rows describing stored documents and who uploaded them. The content itself lives in files
//! (see the application service's document store); these rows are written only after the file
//! is complete and verified.

use crate::{StoreError, Tx};
use jiebang_domain::Timestamp;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub sha256: String,
    pub size_bytes: i64,
    pub media_type: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub uploader_id: String,
    pub file_name: String,
    pub purpose: String,
    pub uploaded_at: Timestamp,
}

pub async fn get(
    conn: &mut AnyConnection,
    sha256: &str,
) -> Result<Option<StoredDocument>, StoreError> {
    let row = sqlx::query(
        "SELECT sha256, size_bytes, media_type, created_at FROM documents WHERE sha256 = $1",
    )
    .bind(sha256)
    .fetch_optional(conn)
    .await?;
    row.map(|r| -> Result<StoredDocument, StoreError> {
        Ok(StoredDocument {
            sha256: r.try_get(0)?,
            size_bytes: r.try_get(1)?,
            media_type: r.try_get(2)?,
            created_at: Timestamp(r.try_get(3)?),
        })
    })
    .transpose()
}

/// Every upload of a document, oldest first.
pub async fn uploads(conn: &mut AnyConnection, sha256: &str) -> Result<Vec<Upload>, StoreError> {
    let rows = sqlx::query(
        "SELECT uploader_id, file_name, purpose, uploaded_at FROM document_uploads \
         WHERE sha256 = $1 ORDER BY uploaded_at, uploader_id",
    )
    .bind(sha256)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Upload {
                uploader_id: r.try_get(0)?,
                file_name: r.try_get(1)?,
                purpose: r.try_get(2)?,
                uploaded_at: Timestamp(r.try_get(3)?),
            })
        })
        .collect()
}

/// Whether `user_id` uploaded the document.
pub async fn uploaded_by(
    conn: &mut AnyConnection,
    sha256: &str,
    user_id: &str,
) -> Result<bool, StoreError> {
    let row =
        sqlx::query("SELECT COUNT(*) FROM document_uploads WHERE sha256 = $1 AND uploader_id = $2")
            .bind(sha256)
            .bind(user_id)
            .fetch_one(conn)
            .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Records a verified document (if new) and this upload of it (if new). Returns whether the
/// content was already stored before.
pub async fn record_upload(
    tx: &mut Tx,
    doc: &StoredDocument,
    upload: &Upload,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO documents (sha256, size_bytes, media_type, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(&doc.sha256)
    .bind(doc.size_bytes)
    .bind(&doc.media_type)
    .bind(doc.created_at.micros())
    .execute(tx.conn())
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO document_uploads (sha256, uploader_id, file_name, purpose, uploaded_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256, uploader_id) DO NOTHING",
    )
    .bind(&doc.sha256)
    .bind(&upload.uploader_id)
    .bind(&upload.file_name)
    .bind(&upload.purpose)
    .bind(upload.uploaded_at.micros())
    .execute(tx.conn())
    .await?;
    Ok(inserted == 0)
}

/// Applications (by `challenge_id`, `application_id`) that attach the document.
pub async fn attached_to(
    conn: &mut AnyConnection,
    sha256: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.challenge_id, a.id FROM application_documents d \
         JOIN applications a ON a.id = d.application_id WHERE d.sha256 = $1",
    )
    .bind(sha256)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// A milestone report that cites a document as evidence: its project, milestone, and whether
/// `user_id` holds a seat on that milestone's acceptance panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    pub project_id: String,
    pub milestone_id: String,
    pub seated: bool,
}

/// The milestone reports citing `sha256` as evidence. Reports keep their evidence inside their
/// content (JSON); a SHA-256 in lower-case hex occurs there only as that document.
pub async fn cited_by_reports(
    conn: &mut AnyConnection,
    sha256: &str,
    user_id: &str,
) -> Result<Vec<Citation>, StoreError> {
    debug_assert!(sha256.bytes().all(|b| b.is_ascii_hexdigit()));
    let rows = sqlx::query(
        "SELECT DISTINCT r.project_id, r.milestone_id, \
         (SELECT COUNT(*) FROM acceptance_seats s \
           WHERE s.milestone_id = r.milestone_id AND s.user_id = $2) \
         FROM milestone_reports r WHERE r.content LIKE $1",
    )
    .bind(format!("%\"{sha256}\"%"))
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Citation {
                project_id: r.try_get(0)?,
                milestone_id: r.try_get(1)?,
                seated: r.try_get::<i64, _>(2)? > 0,
            })
        })
        .collect()
}
