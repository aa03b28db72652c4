//! `jiebang document …`: uploading and downloading documents, with progress for large files.

use super::{Context, request_id, resource_name};
use crate::views::{DocumentView, document_detail};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_client::ApplicationServiceClient;
use jiebang_proto::v1::upload_document_request::Payload;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;

const CHUNK: usize = 256 * 1024;

#[derive(Subcommand)]
pub enum DocumentCommand {
    /// Upload a file (PDF, OFD, image, office document or archive); prints its name.
    Upload {
        file: PathBuf,
        /// technical_plan | qualification_certificate | test_report | budget | pledge |
        /// milestone_evidence | objection_evidence | other
        #[arg(long, default_value = "other")]
        purpose: String,
        /// The media type; default: from the file's extension.
        #[arg(long = "type")]
        media_type: Option<String>,
    },
    /// Download a document; the SHA-256 is checked before the file is kept.
    Download {
        name: String,
        /// Where to write it; default: the document's file name in the current directory.
        #[arg(short = 'o', long = "to")]
        to: Option<PathBuf>,
    },
    /// Show a document's description.
    Show { name: String },
}

/// The media type for an extension. Kept beside the server's allow-list (rather than a general
/// MIME database) so the names match what the server accepts exactly.
fn media_type_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => "application/pdf",
        "ofd" => "application/ofd",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "tif" | "tiff" => "image/tiff",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "zip" => "application/zip",
        "7z" => "application/x-7z-compressed",
        "rar" => "application/vnd.rar",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        _ => return None,
    })
}

fn bar(len: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>11} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

async fn hash_file(path: &Path, size: u64) -> Result<String> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    let progress = bar(size, "hashing");
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        progress.inc(n as u64);
    }
    progress.finish_and_clear();
    Ok(hex::encode(hasher.finalize()))
}

/// Uploads one file with a progress bar, checked by SHA-256; used by `document upload` and by
/// commands that attach evidence.
pub async fn upload(
    ctx: &Context,
    client: &mut ApplicationServiceClient<crate::client::Authed>,
    file: &Path,
    purpose: &str,
    media_type: Option<String>,
) -> Result<pb::UploadDocumentResponse> {
    let file = file.to_path_buf();
    let media_type = match media_type {
        Some(t) => t,
        None => media_type_of(&file)
            .with_context(|| {
                format!(
                    "cannot tell the type of {}; give it with --type",
                    file.display()
                )
            })?
            .to_owned(),
    };
    let purpose =
        pb::DocumentPurpose::from_str_name(&format!("DOCUMENT_PURPOSE_{}", purpose.to_uppercase()))
            .with_context(|| format!("`{purpose}` is not a document purpose"))?;
    let size = tokio::fs::metadata(&file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size == 0 {
        bail!("{} is empty", file.display());
    }
    let sha256 = hash_file(&file, size).await?;
    let file_name = file
        .file_name()
        .and_then(|n| n.to_str())
        .context("the file name is not valid UTF-8")?
        .to_owned();
    let progress = bar(size, "uploading");
    let metadata = pb::UploadDocumentRequest {
        payload: Some(Payload::Metadata(pb::DocumentUploadMetadata {
            file_name,
            media_type,
            declared_size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            declared_sha256: sha256,
            purpose: purpose as i32,
        })),
        request_id: request_id(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let path = file.clone();
    let reporter = progress.clone();
    let reader = tokio::spawn(async move {
        if tx.send(metadata).await.is_err() {
            return Ok(());
        }
        let mut source = tokio::fs::File::open(&path).await?;
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let n = source.read(&mut buffer).await?;
            if n == 0 {
                return Ok::<(), std::io::Error>(());
            }
            let chunk = pb::UploadDocumentRequest {
                payload: Some(Payload::Chunk(buffer[..n].to_vec())),
                request_id: String::new(),
            };
            if tx.send(chunk).await.is_err() {
                return Ok(());
            }
            reporter.inc(n as u64);
        }
    });
    let result = client
        .upload_document(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await;
    progress.finish_and_clear();
    reader.await??;
    Ok(result.map_err(|s| ctx.fail(s))?.into_inner())
}

pub async fn run(ctx: &Context, command: DocumentCommand) -> Result<()> {
    let mut client = ApplicationServiceClient::new(ctx.connect().await?.authed());
    match command {
        DocumentCommand::Upload {
            file,
            purpose,
            media_type,
        } => {
            let response = upload(ctx, &mut client, &file, &purpose, media_type).await?;
            let document = response.document.context("the server sent no document")?;
            if ctx.output == crate::views::Output::Table {
                eprintln!(
                    "{} {}",
                    if response.already_stored {
                        "already stored:"
                    } else {
                        "uploaded"
                    },
                    document.name
                );
            }
            ctx.print(&DocumentView::from(&document), || {
                document_detail(&document)
            })
        }
        DocumentCommand::Download { name, to } => {
            let name = resource_name("documents", &name);
            let mut stream = client
                .download_document(pb::DownloadDocumentRequest {
                    name,
                    read_offset: 0,
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let first = stream
                .next()
                .await
                .context("the server sent nothing")?
                .map_err(|s| ctx.fail(s))?;
            let Some(pb::download_document_response::Payload::Metadata(document)) = first.payload
            else {
                bail!("the server did not start with the document's description");
            };
            let target = to.unwrap_or_else(|| {
                PathBuf::from(if document.file_name.is_empty() {
                    &document.sha256
                } else {
                    &document.file_name
                })
            });
            let partial = target.with_extension("part");
            let mut out = tokio::fs::File::create(&partial)
                .await
                .with_context(|| format!("cannot write {}", partial.display()))?;
            let progress = bar(
                u64::try_from(document.size_bytes).unwrap_or(0),
                "downloading",
            );
            let mut hasher = Sha256::new();
            while let Some(message) = stream.next().await {
                if let Some(pb::download_document_response::Payload::Chunk(chunk)) =
                    message.map_err(|s| ctx.fail(s))?.payload
                {
                    hasher.update(&chunk);
                    out.write_all(&chunk).await?;
                    progress.inc(chunk.len() as u64);
                }
            }
            out.flush().await?;
            progress.finish_and_clear();
            let got = hex::encode(hasher.finalize());
            if got != document.sha256 {
                let _ = tokio::fs::remove_file(&partial).await;
                bail!(
                    "the download was corrupted (SHA-256 {got}, expected {}); nothing was kept",
                    document.sha256
                );
            }
            tokio::fs::rename(&partial, &target).await?;
            eprintln!(
                "saved {} ({} bytes, SHA-256 verified)",
                target.display(),
                document.size_bytes
            );
            Ok(())
        }
        DocumentCommand::Show { name } => {
            let document = client
                .get_document(pb::GetDocumentRequest {
                    name: resource_name("documents", &name),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .document
                .unwrap_or_default();
            ctx.print(&DocumentView::from(&document), || {
                document_detail(&document)
            })
        }
    }
}
