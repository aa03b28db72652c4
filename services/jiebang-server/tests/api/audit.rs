//! The audit chain: every state change leaves a record; editing or deleting a stored record
//! directly in the database makes verification fail at that record.

use crate::on_both_backends;
use crate::support::{TestApp, code_of};
use jiebang_proto::v1 as pb;
use std::time::Duration;
use tonic::Code;

async fn verify(app: &TestApp) -> pb::VerifyAuditChainResponse {
    app.audit(Some(&app.admin_token))
        .await
        .verify_audit_chain(pb::VerifyAuditChainRequest::default())
        .await
        .unwrap()
        .into_inner()
}

async fn every_state_change_leaves_a_record_with_actor_and_request_digest(app: &TestApp) {
    let cast = app.cast().await;
    let published = app
        .published(&cast, "审计链测试榜单", Duration::from_secs(7 * 86_400))
        .await;
    let records = app
        .audit(Some(&cast.admin))
        .await
        .list_audit_records(pb::ListAuditRecordsRequest {
            chain: published.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "challenge.created",
            "challenge.submitted",
            "challenge.approved",
            "challenge.published"
        ]
    );
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.chain_sequence, i as i64 + 1);
        assert!(record.actor.starts_with("users/"));
        assert_eq!(record.request_digest.len(), 64);
        if i > 0 {
            assert_eq!(record.previous_hash, records[i - 1].hash);
        }
    }
    let result = verify(app).await;
    assert!(result.intact, "{:?}", result.breaks);
    assert!(result.records_checked >= 4);
}

async fn an_edited_record_breaks_verification_at_that_record(app: &TestApp) {
    let cast = app.cast().await;
    let published = app
        .published(&cast, "篡改检测测试榜单", Duration::from_secs(7 * 86_400))
        .await;
    assert!(verify(app).await.intact);
    let mut db = app.db.connect().await;
    sqlx::query(
        "UPDATE audit_records SET actor = 'users/someone-else' WHERE chain = $1 AND chain_seq = 3",
    )
    .bind(&published.name)
    .execute(&mut db)
    .await
    .unwrap();
    let result = verify(app).await;
    assert!(!result.intact);
    assert_eq!(result.breaks.len(), 1);
    assert_eq!(result.breaks[0].chain, published.name);
    assert_eq!(result.breaks[0].chain_sequence, 3);
    assert!(
        result.breaks[0].reason.contains("modified"),
        "{}",
        result.breaks[0].reason
    );
}

async fn a_deleted_record_breaks_verification_even_the_newest(app: &TestApp) {
    let cast = app.cast().await;
    let first = app
        .published(&cast, "删除中间记录测试", Duration::from_secs(7 * 86_400))
        .await;
    let second = app
        .published(&cast, "删除最新记录测试", Duration::from_secs(7 * 86_400))
        .await;
    let mut db = app.db.connect().await;
    sqlx::query("DELETE FROM audit_records WHERE chain = $1 AND chain_seq = 2")
        .bind(&first.name)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_records WHERE chain = $1 AND chain_seq = 4")
        .bind(&second.name)
        .execute(&mut db)
        .await
        .unwrap();
    let result = verify(app).await;
    assert!(!result.intact);
    let mut broken: Vec<(String, i64)> = result
        .breaks
        .iter()
        .map(|b| (b.chain.clone(), b.chain_sequence))
        .collect();
    broken.sort();
    let mut expected = vec![(first.name, 2), (second.name, 4)];
    expected.sort();
    assert_eq!(broken, expected);
}

async fn only_the_bureau_reads_the_audit_trail(app: &TestApp) {
    let cast = app.cast().await;
    for token in [&cast.publisher, &cast.team_member, &cast.expert] {
        let listed = app
            .audit(Some(token))
            .await
            .list_audit_records(pb::ListAuditRecordsRequest::default())
            .await;
        assert_eq!(code_of(listed), Code::PermissionDenied);
        let verified = app
            .audit(Some(token))
            .await
            .verify_audit_chain(pb::VerifyAuditChainRequest::default())
            .await;
        assert_eq!(code_of(verified), Code::PermissionDenied);
    }
}

async fn the_audit_trail_pages_in_order(app: &TestApp) {
    let cast = app.cast().await;
    app.published(&cast, "审计分页测试", Duration::from_secs(7 * 86_400))
        .await;
    let mut client = app.audit(Some(&cast.admin)).await;
    let mut token = String::new();
    let mut sequences = Vec::new();
    loop {
        let page = client
            .list_audit_records(pb::ListAuditRecordsRequest {
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        sequences.extend(page.records.iter().map(|r| r.sequence));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut sorted = sequences.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sequences, sorted);
    assert!(
        sequences.len() >= 10,
        "users, organisations and challenge changes: {}",
        sequences.len()
    );
}

async fn two_servers_appending_to_one_chain_in_turn_keep_it_whole(app: &TestApp) {
    // Each server remembers the chain heads it committed, to skip reading them; after the
    // other server appends, that memory is stale and the append must go on from the table.
    let cast = app.cast().await;
    let draft = app.draft(&cast, "两个副本轮流修改的榜单").await;
    let replica = TestApp::spawn_on(app.db.clone(), app.clock.clone()).await;
    let mut etag = draft.etag.clone();
    for turn in 0..4 {
        let server = if turn % 2 == 0 { app } else { &replica };
        let updated = server
            .challenges(Some(&cast.publisher))
            .await
            .update_challenge(pb::UpdateChallengeRequest {
                challenge: Some(pb::Challenge {
                    name: draft.name.clone(),
                    etag: etag.clone(),
                    title: format!("两个副本轮流修改的榜单（第{turn}次）"),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".into()],
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .challenge
            .unwrap();
        etag = updated.etag;
    }
    let records = app
        .audit(Some(&cast.admin))
        .await
        .list_audit_records(pb::ListAuditRecordsRequest {
            chain: draft.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(
        records.iter().map(|r| r.chain_sequence).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    for pair in records.windows(2) {
        assert_eq!(pair[1].previous_hash, pair[0].hash);
    }
    let result = verify(app).await;
    assert!(result.intact, "{:?}", result.breaks);
    replica.take_server().shutdown().await;
}

on_both_backends!(
    two_servers_appending_to_one_chain_in_turn_keep_it_whole,
    every_state_change_leaves_a_record_with_actor_and_request_digest,
    an_edited_record_breaks_verification_at_that_record,
    a_deleted_record_breaks_verification_even_the_newest,
    only_the_bureau_reads_the_audit_trail,
    the_audit_trail_pages_in_order,
);
