//! A mutating call retried with the same `request_id` returns the first answer and changes
//! nothing more (AIP-155).

use crate::on_both_backends;
use crate::samples::porcelain_challenge;
use crate::support::{TestApp, reason_of};
use jiebang_proto::v1 as pb;
use tonic::Code;

async fn a_retried_create_returns_the_first_challenge_and_stores_one(app: &TestApp) {
    let cast = app.cast().await;
    let mut client = app.challenges(Some(&cast.publisher)).await;
    let request = pb::CreateChallengeRequest {
        challenge: Some(porcelain_challenge("幂等创建测试榜单")),
        request_id: "0b9e3c0e-6c55-4d8f-9f55-5a4f0b7c9a11".into(),
    };
    let first = client
        .create_challenge(request.clone())
        .await
        .unwrap()
        .into_inner();
    let second = client.create_challenge(request).await.unwrap().into_inner();
    assert_eq!(first, second);
    let listed = client
        .list_challenges(pb::ListChallengesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.challenges.len(), 1);
}

async fn concurrent_retries_of_one_request_have_one_effect(app: &TestApp) {
    let cast = app.cast().await;
    let mut calls = Vec::new();
    for _ in 0..10 {
        let mut client = app.challenges(Some(&cast.publisher)).await;
        calls.push(tokio::spawn(async move {
            client
                .create_challenge(pb::CreateChallengeRequest {
                    challenge: Some(porcelain_challenge("并发幂等测试榜单")),
                    request_id: "same-request".into(),
                })
                .await
                .map(|r| r.into_inner().challenge.unwrap().name)
        }));
    }
    let mut names = Vec::new();
    for call in calls {
        names.push(call.await.unwrap().expect("every retry answers"));
    }
    names.dedup();
    assert_eq!(names.len(), 1, "all retries return the same challenge");
    let listed = app
        .challenges(Some(&cast.publisher))
        .await
        .list_challenges(pb::ListChallengesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.challenges.len(), 1);
}

async fn a_retried_transition_is_answered_again_without_a_second_audit_record(app: &TestApp) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "幂等提交测试榜单").await;
    let mut client = app.challenges(Some(&cast.publisher)).await;
    let submit = pb::SubmitChallengeRequest {
        name: draft.name.clone(),
        etag: String::new(),
        request_id: "submit-once".into(),
    };
    let first = client
        .submit_challenge(submit.clone())
        .await
        .unwrap()
        .into_inner();
    let again = client.submit_challenge(submit).await.unwrap().into_inner();
    assert_eq!(
        first, again,
        "the retry gets the first answer, not FAILED_PRECONDITION"
    );
    let records = app
        .audit(Some(&cast.admin))
        .await
        .list_audit_records(pb::ListAuditRecordsRequest {
            chain: draft.name,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(
        records
            .iter()
            .filter(|r| r.action == "challenge.submitted")
            .count(),
        1
    );
}

async fn a_request_id_reused_for_a_different_request_is_refused(app: &TestApp) {
    let cast = app.cast().await;
    let mut client = app.challenges(Some(&cast.publisher)).await;
    client
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(porcelain_challenge("第一个请求的榜单")),
            request_id: "reused".into(),
        })
        .await
        .unwrap();
    let status = client
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(porcelain_challenge("第二个请求的榜单")),
            request_id: "reused".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&status), "REQUEST_ID_REUSED");
    let bad_id = client
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(porcelain_challenge("第三个请求的榜单")),
            request_id: "has spaces!".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(crate::support::violated_fields(&bad_id), vec!["request_id"]);
}

on_both_backends!(
    a_retried_create_returns_the_first_challenge_and_stores_one,
    concurrent_retries_of_one_request_have_one_effect,
    a_retried_transition_is_answered_again_without_a_second_audit_record,
    a_request_id_reused_for_a_different_request_is_refused,
);
