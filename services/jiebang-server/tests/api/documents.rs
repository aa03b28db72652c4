//! Documents: uploaded in chunks with a declared size and SHA-256 the server checks, stored by
//! content, refused precisely (and with nothing stored) when anything is off, readable only by
//! those who may, and attached to applications by digest.

use crate::on_both_backends;
use crate::support::{TestApp, code_of, reason_of, violated_fields};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::upload_document_request::Payload;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::Code;

/// A PDF-looking body of `size` bytes.
fn pdf(size: usize, seed: u8) -> Vec<u8> {
    let mut body = b"%PDF-1.7\n".to_vec();
    body.extend((0..size - body.len()).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    body
}

fn sha(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

fn messages(
    meta: pb::DocumentUploadMetadata,
    content: &[u8],
    chunk: usize,
) -> Vec<pb::UploadDocumentRequest> {
    let mut out = vec![pb::UploadDocumentRequest {
        payload: Some(Payload::Metadata(meta)),
        request_id: String::new(),
    }];
    out.extend(content.chunks(chunk).map(|c| pb::UploadDocumentRequest {
        payload: Some(Payload::Chunk(c.to_vec())),
        request_id: String::new(),
    }));
    out
}

fn metadata(name: &str, content: &[u8]) -> pb::DocumentUploadMetadata {
    pb::DocumentUploadMetadata {
        file_name: name.into(),
        media_type: "application/pdf".into(),
        declared_size_bytes: content.len() as i64,
        declared_sha256: sha(content),
        purpose: pb::DocumentPurpose::TechnicalPlan as i32,
    }
}

async fn upload(
    app: &TestApp,
    token: &str,
    requests: Vec<pb::UploadDocumentRequest>,
) -> Result<pb::UploadDocumentResponse, tonic::Status> {
    app.applications(Some(token))
        .await
        .upload_document(tokio_stream::iter(requests))
        .await
        .map(|r| r.into_inner())
}

async fn download(
    app: &TestApp,
    token: &str,
    name: &str,
    offset: i64,
) -> Result<(pb::Document, Vec<u8>), tonic::Status> {
    let mut stream = app
        .applications(Some(token))
        .await
        .download_document(pb::DownloadDocumentRequest {
            name: name.into(),
            read_offset: offset,
        })
        .await?
        .into_inner();
    let mut meta = None;
    let mut body = Vec::new();
    while let Some(message) = stream.next().await {
        match message?.payload {
            Some(pb::download_document_response::Payload::Metadata(m)) => meta = Some(m),
            Some(pb::download_document_response::Payload::Chunk(c)) => body.extend(c),
            None => {}
        }
    }
    Ok((meta.expect("metadata first"), body))
}

/// Rows in `documents` and files in the document directory: what a refused upload must not leave.
async fn stored(app: &TestApp) -> (i64, usize) {
    use sqlx::Row;
    let mut db = app.db.connect().await;
    let rows: i64 = sqlx::query("SELECT COUNT(*) FROM documents")
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get(0);
    let dir = app.db.dir().join("documents");
    let files = walk(&dir);
    (rows, files)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn a_large_document_round_trips_in_chunks_and_is_stored_once(app: &TestApp) {
    let team = app
        .team("docs", pb::OrganizationType::University, "330100")
        .await;
    let content = pdf(3 * 1024 * 1024 + 17, 1);
    let first = upload(
        app,
        &team.lead,
        messages(metadata("技术方案.pdf", &content), &content, 256 * 1024),
    )
    .await
    .unwrap();
    assert!(!first.already_stored);
    let doc = first.document.unwrap();
    assert_eq!(doc.name, format!("documents/{}", sha(&content)));
    assert_eq!(doc.size_bytes, content.len() as i64);
    assert_eq!(doc.file_name, "技术方案.pdf");

    let (meta, body) = download(app, &team.lead, &doc.name, 0).await.unwrap();
    assert_eq!(meta.sha256, sha(&content));
    assert!(
        body == content,
        "the downloaded bytes equal the uploaded ones"
    );
    let (_, tail) = download(app, &team.lead, &doc.name, 1_000_000)
        .await
        .unwrap();
    assert!(
        tail == content[1_000_000..],
        "a download resumes from an offset"
    );

    let again = upload(
        app,
        &team.lead,
        messages(metadata("副本.pdf", &content), &content, 1024 * 1024),
    )
    .await
    .unwrap();
    assert!(again.already_stored, "the same content is stored once");
    assert_eq!(stored(app).await, (1, 1));
}

async fn every_bad_upload_is_refused_precisely_and_leaves_nothing(app: &TestApp) {
    let team = app
        .team("bad", pb::OrganizationType::University, "330100")
        .await;
    let content = pdf(300_000, 2);

    // A chunk corrupted in transit: the digest no longer matches.
    let mut corrupted = messages(metadata("a.pdf", &content), &content, 64 * 1024);
    if let Some(Payload::Chunk(c)) = &mut corrupted[2].payload {
        c[10] ^= 0xFF;
    }
    let status = upload(app, &team.lead, corrupted).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), vec!["metadata.declared_sha256"]);

    // A wrong declared digest.
    let mut meta = metadata("b.pdf", &content);
    meta.declared_sha256 = sha(b"something else");
    let status = upload(app, &team.lead, messages(meta, &content, 64 * 1024))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), vec!["metadata.declared_sha256"]);

    // Too large: refused on the metadata, before any content.
    let mut meta = metadata("huge.pdf", &content);
    meta.declared_size_bytes = 60 * 1024 * 1024;
    let status = upload(app, &team.lead, messages(meta, &[], 1))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(reason_of(&status), "TOO_LARGE");

    // More bytes than declared: refused while streaming.
    let mut meta = metadata("more.pdf", &content);
    meta.declared_size_bytes = 100_000;
    let status = upload(app, &team.lead, messages(meta, &content, 64 * 1024))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), vec!["chunk"]);

    // Fewer bytes than declared.
    let mut meta = metadata("less.pdf", &content);
    meta.declared_size_bytes = 400_000;
    let status = upload(app, &team.lead, messages(meta, &content, 64 * 1024))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        vec!["metadata.declared_size_bytes"]
    );

    // A type off the allow-list, and content that is not what it claims.
    let mut meta = metadata("setup.exe", &content);
    meta.media_type = "application/x-msdownload".into();
    let status = upload(app, &team.lead, messages(meta, &content, 64 * 1024))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), vec!["metadata.media_type"]);
    let mut exe = b"MZ\x90\x00".to_vec();
    exe.extend(vec![0u8; 1000]);
    let status = upload(
        app,
        &team.lead,
        messages(metadata("fake.pdf", &exe), &exe, 512),
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&status), vec!["metadata.media_type"]);

    // Metadata must come first.
    let mut out_of_order = messages(metadata("c.pdf", &content), &content, 64 * 1024);
    out_of_order.swap(0, 1);
    let status = upload(app, &team.lead, out_of_order).await.unwrap_err();
    assert_eq!(violated_fields(&status), vec!["metadata"]);

    assert_eq!(stored(app).await, (0, 0), "nothing refused was stored");
}

async fn a_document_is_read_only_by_its_uploader_and_the_readers_of_an_application_attaching_it(
    app: &TestApp,
) {
    let cast = app.cast().await;
    let challenge = app
        .published(&cast, "文档权限测试榜单", Duration::from_secs(2 * 86_400))
        .await;
    let team = app
        .team("owner", pb::OrganizationType::University, "330100")
        .await;
    let other = app
        .team("other", pb::OrganizationType::University, "330100")
        .await;
    let content = pdf(10_000, 3);
    let doc = upload(
        app,
        &team.lead,
        messages(metadata("资质证明.pdf", &content), &content, 4096),
    )
    .await
    .unwrap()
    .document
    .unwrap();

    for outsider in [&other.lead, &cast.publisher] {
        let get = app
            .applications(Some(outsider))
            .await
            .get_document(pb::GetDocumentRequest {
                name: doc.name.clone(),
            })
            .await;
        assert_eq!(code_of(get), Code::NotFound);
        assert_eq!(
            download(app, outsider, &doc.name, 0)
                .await
                .unwrap_err()
                .code(),
            Code::NotFound
        );
    }

    // Nobody attaches a document they did not upload.
    let mut borrowed = crate::samples::application_for(&other);
    borrowed.documents = vec![doc.name.clone()];
    let status = app
        .applications(Some(&other.lead))
        .await
        .create_application(pb::CreateApplicationRequest {
            parent: challenge.name.clone(),
            application: Some(borrowed),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), vec!["application.documents[0]"]);

    // Attached and submitted, it is readable by the publisher after the deadline.
    let mut with_doc = crate::samples::application_for(&team);
    with_doc.documents = vec![doc.name.clone()];
    let application = app
        .applications(Some(&team.lead))
        .await
        .create_application(pb::CreateApplicationRequest {
            parent: challenge.name.clone(),
            application: Some(with_doc),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    app.submit_application(&team, &application.name)
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(3 * 86_400));
    let (meta, body) = download(app, &cast.publisher, &doc.name, 0).await.unwrap();
    assert_eq!(meta.file_name, "资质证明.pdf");
    assert!(body == content);
}

async fn the_blind_view_names_no_organisation_person_or_file(app: &TestApp) {
    let cast = app.cast().await;
    let challenge = app
        .published(&cast, "盲评测试榜单", Duration::from_secs(30 * 86_400))
        .await;
    let team = app
        .team("visible", pb::OrganizationType::University, "330100")
        .await;
    let partner = app
        .team("partner", pb::OrganizationType::Enterprise, "330100")
        .await;
    let content = pdf(20_000, 4);
    let doc = upload(
        app,
        &team.lead,
        messages(
            metadata("浙江工业大学-技术方案-张三.pdf", &content),
            &content,
            4096,
        ),
    )
    .await
    .unwrap()
    .document
    .unwrap();
    let mut full = crate::samples::application_for(&team);
    full.documents = vec![doc.name.clone()];
    let t = full.team.as_mut().unwrap();
    t.partner_organizations = vec![partner.org.clone()];
    t.members.push(pb::TeamMember {
        user: partner.lead_name.clone(),
        display_name: "王五".into(),
        organization: partner.org.clone(),
        role: pb::TeamRole::CoreMember as i32,
        duty: "工艺验证".into(),
    });
    full.contacts = vec![pb::Contact {
        person: "赵六".into(),
        phone: "13912345678".into(),
        email: "zhao@example.cn".into(),
    }];
    let application = app
        .applications(Some(&team.lead))
        .await
        .create_application(pb::CreateApplicationRequest {
            parent: challenge.name.clone(),
            application: Some(full),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    app.submit_application(&team, &application.name)
        .await
        .unwrap();

    let blind = app
        .applications(Some(&cast.admin))
        .await
        .get_blind_view(pb::GetBlindViewRequest {
            name: application.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .blind_application
        .unwrap();
    assert_eq!(blind.label, "申报书 01");
    assert_eq!(blind.partner_count, 1);
    assert_eq!(blind.members.len(), 2);
    assert_eq!(blind.documents.len(), 1);
    assert_eq!(
        blind.documents[0].purpose,
        pb::DocumentPurpose::TechnicalPlan as i32
    );

    // Nothing that names the team survives, anywhere in the encoded view.
    let encoded = String::from_utf8_lossy(&prost::Message::encode_to_vec(&blind)).into_owned();
    let mut identities = vec![
        "visible研究团队单位".to_owned(),
        "partner研究团队单位".to_owned(),
        crate::support::credit_code("visible"),
        crate::support::credit_code("partner"),
        team.org.clone(),
        partner.org.clone(),
        team.lead_name.clone(),
        partner.lead_name.clone(),
        "李工".into(),
        "王五".into(),
        "赵六".into(),
        "13912345678".into(),
        "zhao@example.cn".into(),
        "浙江工业大学-技术方案-张三.pdf".into(),
        crate::samples::PLEDGE.into(),
    ];
    identities.push(team.org.trim_start_matches("organizations/").to_owned());
    identities.push(team.lead_name.trim_start_matches("users/").to_owned());
    for identity in identities {
        assert!(
            !encoded.contains(&identity),
            "the blind view leaks {identity}"
        );
    }

    // A challenge reviewed openly has no blind view: experts see the full application.
    let mut open_review = crate::samples::porcelain_challenge("公开评审榜单");
    open_review.blind_review = false;
    let open = app
        .published_of(&cast, open_review, Duration::from_secs(30 * 86_400))
        .await;
    let seen = app.draft_application(&partner, &open.name).await;
    let status = app
        .applications(Some(&partner.lead))
        .await
        .get_blind_view(pb::GetBlindViewRequest { name: seen.name })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&status), "CHALLENGE_NOT_BLIND");
}

on_both_backends!(
    a_large_document_round_trips_in_chunks_and_is_stored_once,
    every_bad_upload_is_refused_precisely_and_leaves_nothing,
    a_document_is_read_only_by_its_uploader_and_the_readers_of_an_application_attaching_it,
    the_blind_view_names_no_organisation_person_or_file,
);
