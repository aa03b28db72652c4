//! Uploading, downloading and describing documents.
//!
//! Who may read a document: the bureau; whoever uploaded it; whoever may read an application
//! that attaches it, and the experts reviewing such an application; for a milestone report's
//! evidence, the project's team and publisher and the milestone's acceptance panel. Everyone else is told it
//! does not exist. Experts of a blind challenge read the bytes but not who uploaded them or
//! under which file name: either could name the team.

use crate::document_store::{DocumentStore, open_at};
use crate::service::ApplicationApi;
use jiebang_domain::application::access;
use jiebang_domain::audience::Audience;
use jiebang_domain::document::{UploadDeclaration, content_matches};
use jiebang_domain::ids::{Collection, parse_document_name};
use jiebang_domain::{Caller, DomainError};
use jiebang_grpc::convert::to_proto_time;
use jiebang_grpc::idempotency::Idempotency;
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, caller};
use jiebang_proto::v1 as pb;
use jiebang_storage::documents::{self, StoredDocument, Upload};
use jiebang_storage::{StoreError, applications, challenges};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tonic::{Request, Status, Streaming};

const CHUNK: usize = 1024 * 1024;

pub fn purpose_name(value: i32) -> String {
    pb::DocumentPurpose::try_from(value)
        .ok()
        .filter(|p| *p != pb::DocumentPurpose::Unspecified)
        .unwrap_or(pb::DocumentPurpose::Other)
        .as_str_name()
        .to_owned()
}

fn purpose_value(name: &str) -> i32 {
    pb::DocumentPurpose::from_str_name(name).unwrap_or(pb::DocumentPurpose::Other) as i32
}

fn invalid(field: &str, description: impl Into<String>) -> Status {
    ApiError::from(DomainError::invalid(field, description)).into()
}

/// How the caller may read a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentAccess {
    None,
    /// Content and every detail.
    Full,
    /// Content without the uploader or file name: an expert of a blind challenge.
    Blind,
}

impl ApplicationApi {
    fn document_store(&self) -> DocumentStore {
        DocumentStore::new(&self.platform().settings.document_dir)
    }

    /// How the caller may read the document: bureau, uploader, or reader of an attaching
    /// application in full; an expert reviewing an attaching application in full, or blind when
    /// its challenge is reviewed blind (and no other path gives more).
    pub(crate) async fn document_access(
        &self,
        caller: &Caller,
        sha256: &str,
    ) -> Result<DocumentAccess, ApiError> {
        if caller.is_admin() {
            return Ok(DocumentAccess::Full);
        }
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        if documents::uploaded_by(&mut conn, sha256, &caller.user_id).await? {
            return Ok(DocumentAccess::Full);
        }
        let now = self.platform().now();
        let mut access = DocumentAccess::None;
        for (challenge_id, application_id) in documents::attached_to(&mut conn, sha256).await? {
            let Some(application) =
                applications::get(&mut conn, &challenge_id, &application_id).await?
            else {
                continue;
            };
            let Some(challenge) = challenges::get_in(&mut conn, &challenge_id).await? else {
                continue;
            };
            if access::can_read(caller, &application, &challenge, now) {
                return Ok(DocumentAccess::Full);
            }
            // Experts read what they review.
            if let Some(expert) =
                jiebang_storage::review::expert_of_user(&mut conn, &caller.user_id).await?
                && jiebang_storage::review::expert_live_assignments(&mut conn, &expert.id)
                    .await?
                    .iter()
                    .any(|a| a.application_id == application.id)
            {
                if !challenge.spec.blind_review {
                    return Ok(DocumentAccess::Full);
                }
                access = DocumentAccess::Blind;
            }
        }
        // Evidence of a milestone report: the project's team and publisher, and the members
        // of that milestone's acceptance panel.
        for citation in documents::cited_by_reports(&mut conn, sha256, &caller.user_id).await? {
            if citation.seated {
                return Ok(DocumentAccess::Full);
            }
            let Some(project) =
                jiebang_storage::projects::get_project(&mut conn, &citation.project_id).await?
            else {
                continue;
            };
            let Some(application) =
                applications::get(&mut conn, &project.challenge_id, &project.application_id)
                    .await?
            else {
                continue;
            };
            let Some(challenge) = challenges::get_in(&mut conn, &project.challenge_id).await?
            else {
                continue;
            };
            let publisher = caller.role == jiebang_domain::identity::Role::Publisher
                && caller.organization_id == challenge.publisher_id;
            if publisher || access::is_team(caller, &application) {
                return Ok(DocumentAccess::Full);
            }
        }
        Ok(access)
    }

    /// The document's description as the caller sees it.
    pub(crate) async fn describe(
        &self,
        caller: &Caller,
        sha256: &str,
    ) -> Result<pb::Document, ApiError> {
        let name = format!("documents/{sha256}");
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let doc = documents::get(&mut conn, sha256)
            .await?
            .ok_or_else(|| DomainError::not_found(&name))?;
        let uploads = documents::uploads(&mut conn, sha256).await?;
        drop(conn);
        let access = self.document_access(caller, sha256).await?;
        if access == DocumentAccess::None {
            return Err(DomainError::not_found(name).into());
        }
        let blind = access == DocumentAccess::Blind;
        let shown = uploads
            .iter()
            .find(|u| u.uploader_id == caller.user_id)
            .or(uploads.first());
        Ok(pb::Document {
            name,
            sha256: doc.sha256.clone(),
            size_bytes: doc.size_bytes,
            media_type: doc.media_type.clone(),
            file_name: shown
                .filter(|_| !blind)
                .map(|u| u.file_name.clone())
                .unwrap_or_default(),
            purpose: shown.map_or(pb::DocumentPurpose::Other as i32, |u| {
                purpose_value(&u.purpose)
            }),
            uploader: uploads
                .first()
                .filter(|_| !blind)
                .map(|u| Collection::Users.name(&u.uploader_id))
                .unwrap_or_default(),
            create_time: Some(to_proto_time(doc.created_at)),
        })
    }

    pub(crate) async fn upload(
        &self,
        request: Request<Streaming<pb::UploadDocumentRequest>>,
    ) -> Result<pb::UploadDocumentResponse, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        let mut stream = request.into_inner();
        let first = stream
            .message()
            .await?
            .ok_or_else(|| invalid("metadata", "the upload is empty; send the metadata first"))?;
        let Some(pb::upload_document_request::Payload::Metadata(meta)) = first.payload else {
            return Err(invalid(
                "metadata",
                "the first message must carry the metadata",
            ));
        };
        let declaration = UploadDeclaration {
            file_name: meta.file_name.clone(),
            media_type: meta.media_type.clone(),
            size_bytes: meta.declared_size_bytes,
            sha256: meta.declared_sha256.clone(),
        };
        declaration
            .validate(self.platform().settings.max_document_bytes)
            .map_err(ApiError::from)?;
        // Uploading is idempotent by content; the key is only checked for form.
        Idempotency::new(
            &caller,
            &first.request_id,
            "/jiebang.v1.ApplicationService/UploadDocument",
            String::new(),
        )
        .map_err(ApiError::from)?;

        let store = self.document_store();
        let mut pending = store
            .begin()
            .await
            .map_err(|e| Status::unavailable(format!("document storage is unavailable: {e}")))?;
        while let Some(message) = stream.message().await? {
            match message.payload {
                Some(pb::upload_document_request::Payload::Chunk(chunk)) => {
                    let len = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
                    if pending.written() + len > declaration.size_bytes {
                        return Err(invalid(
                            "chunk",
                            format!(
                                "more bytes than the declared {} arrived",
                                declaration.size_bytes
                            ),
                        ));
                    }
                    pending.write(&chunk).await.map_err(|e| {
                        Status::unavailable(format!("document storage failed: {e}"))
                    })?;
                }
                Some(pb::upload_document_request::Payload::Metadata(_)) => {
                    return Err(invalid(
                        "metadata",
                        "only the first message may carry metadata",
                    ));
                }
                None => {}
            }
        }
        if pending.written() != declaration.size_bytes {
            return Err(invalid(
                "metadata.declared_size_bytes",
                format!(
                    "{} bytes were declared but {} arrived",
                    declaration.size_bytes,
                    pending.written()
                ),
            ));
        }
        let sha = pending
            .finish()
            .await
            .map_err(|e| Status::unavailable(format!("document storage failed: {e}")))?;
        if sha != declaration.sha256 {
            return Err(invalid(
                "metadata.declared_sha256",
                format!(
                    "the content's SHA-256 is {sha}, not the declared one: a chunk was corrupted or lost"
                ),
            ));
        }
        if !content_matches(&declaration.media_type, pending.head()) {
            return Err(invalid(
                "metadata.media_type",
                format!("the content is not {}", declaration.media_type),
            ));
        }
        pending
            .keep(&store, &sha)
            .await
            .map_err(|e| Status::unavailable(format!("document storage failed: {e}")))?;

        let now = self.platform().now();
        let doc = StoredDocument {
            sha256: sha.clone(),
            size_bytes: declaration.size_bytes,
            media_type: declaration.media_type.clone(),
            created_at: now,
        };
        let upload = Upload {
            uploader_id: caller.user_id.clone(),
            file_name: declaration.file_name.clone(),
            purpose: purpose_name(meta.purpose),
            uploaded_at: now,
        };
        let idem = Idempotency::none(sha.clone());
        let mut tx = self
            .platform()
            .store
            .begin()
            .await
            .map_err(ApiError::from)?;
        let already_stored = documents::record_upload(&mut tx, &doc, &upload)
            .await
            .map_err(ApiError::from)?;
        let name = format!("documents/{sha}");
        let response_doc = pb::Document {
            name: name.clone(),
            sha256: sha.clone(),
            size_bytes: doc.size_bytes,
            media_type: doc.media_type.clone(),
            file_name: upload.file_name.clone(),
            purpose: purpose_value(&upload.purpose),
            uploader: caller.actor(),
            create_time: Some(to_proto_time(now)),
        };
        let response = pb::UploadDocumentResponse {
            document: Some(response_doc),
            already_stored,
        };
        let change = ChangeBuilder {
            at: now,
            actor: caller.actor(),
            action: "document.uploaded",
            event_type: pb::EventType::DocumentUploaded,
            resource: name,
            chain: None,
            state: String::new(),
            summary: upload.file_name.clone(),
            audience: &[Audience::User(caller.user_id.clone())],
            idempotency: &idem,
        }
        .build(&response);
        self.platform().commit(tx, &change).await?;
        tracing::info!(document = %sha, bytes = doc.size_bytes, already_stored, "document uploaded");
        // The stored description: for content uploaded before, the first upload's details.
        Ok(pb::UploadDocumentResponse {
            document: Some(self.describe(&caller, &sha).await?),
            already_stored,
        })
    }

    pub(crate) async fn download(
        &self,
        caller: Caller,
        req: pb::DownloadDocumentRequest,
    ) -> Result<mpsc::Receiver<Result<pb::DownloadDocumentResponse, Status>>, ApiError> {
        let sha = parse_document_name(&req.name, "name")?.to_owned();
        if req.read_offset < 0 {
            return Err(DomainError::invalid("read_offset", "must not be negative").into());
        }
        let metadata = self.describe(&caller, &sha).await?;
        if req.read_offset > metadata.size_bytes {
            return Err(
                DomainError::invalid("read_offset", "is beyond the end of the document").into(),
            );
        }
        let path = self.document_store().path_of(&sha);
        let mut file = open_at(&path, u64::try_from(req.read_offset).unwrap_or(0))
            .await
            .map_err(|e| StoreError::Corrupt(format!("document {sha} content missing: {e}")))?;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let first = pb::DownloadDocumentResponse {
                payload: Some(pb::download_document_response::Payload::Metadata(metadata)),
            };
            if tx.send(Ok(first)).await.is_err() {
                return;
            }
            let mut buffer = vec![0u8; CHUNK];
            loop {
                match file.read(&mut buffer).await {
                    Ok(0) => return,
                    Ok(n) => {
                        let chunk = pb::DownloadDocumentResponse {
                            payload: Some(pb::download_document_response::Payload::Chunk(
                                buffer[..n].to_vec(),
                            )),
                        };
                        if tx.send(Ok(chunk)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::error!(document = %sha, error = %e, "reading a stored document failed");
                        let _ = tx
                            .send(Err(Status::internal("reading the document failed")))
                            .await;
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }
}
