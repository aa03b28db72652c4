//! The challenge lifecycle (DOMAIN.md): DRAFT → PENDING_APPROVAL → APPROVED → PUBLISHED →
//! APPLICATIONS_CLOSED by the clock; rejection back to DRAFT; cancellation with a typed reason.

use crate::on_both_backends;
use crate::support::{TestApp, code_of, reason_of};
use jiebang_grpc::convert::to_proto_time;
use jiebang_proto::v1 as pb;
use std::time::Duration;
use tonic::Code;

const DAY: Duration = Duration::from_secs(86_400);

async fn a_challenge_goes_from_draft_to_published_and_closes_by_itself_at_the_deadline(
    app: &TestApp,
) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "特高压瓷绝缘子关键制备技术").await;
    assert_eq!(draft.state, pb::ChallengeState::Draft as i32);
    assert_eq!(draft.publisher, cast.publisher_org);

    let mut publisher = app.challenges(Some(&cast.publisher)).await;
    let submitted = publisher
        .submit_challenge(pb::SubmitChallengeRequest {
            name: draft.name.clone(),
            etag: draft.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(submitted.state, pb::ChallengeState::PendingApproval as i32);

    let approved = app
        .challenges(Some(&cast.admin))
        .await
        .approve_challenge(pb::ApproveChallengeRequest {
            name: draft.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(approved.state, pb::ChallengeState::Approved as i32);

    let close = app.clock.now().plus(30 * DAY);
    let published = publisher
        .publish_challenge(pb::PublishChallengeRequest {
            name: draft.name.clone(),
            application_close_time: Some(to_proto_time(close)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(published.state, pb::ChallengeState::Published as i32);
    assert_eq!(published.application_close_time, Some(to_proto_time(close)));

    // A team member sees the published challenge.
    let seen = app
        .challenges(Some(&cast.team_member))
        .await
        .get_challenge(pb::GetChallengeRequest {
            name: draft.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(seen.state, pb::ChallengeState::Published as i32);

    // The clock passes the deadline; nobody calls anything; the job records the close.
    app.clock.advance(31 * DAY);
    let mut audit = app.audit(Some(&cast.admin)).await;
    let mut closed_by_clock = false;
    for _ in 0..100 {
        let records = audit
            .list_audit_records(pb::ListAuditRecordsRequest {
                chain: draft.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .records;
        if records
            .iter()
            .any(|r| r.action == "challenge.applications_closed" && r.actor == "system")
        {
            closed_by_clock = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed_by_clock, "the deadline job did not record the close");
    let after = publisher
        .get_challenge(pb::GetChallengeRequest {
            name: draft.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(after.state, pb::ChallengeState::ApplicationsClosed as i32);
}

async fn a_passed_deadline_shows_as_closed_even_before_the_job_records_it(app: &TestApp) {
    let cast = app.cast().await;
    let published = app
        .published(&cast, "空压机能效提升关键技术", 2 * DAY)
        .await;
    // Exactly at the deadline, whether or not the job has run yet.
    app.clock.advance(2 * DAY);
    let seen = app
        .challenges(Some(&cast.team_member))
        .await
        .get_challenge(pb::GetChallengeRequest {
            name: published.name,
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(seen.state, pb::ChallengeState::ApplicationsClosed as i32);
}

async fn a_rejected_challenge_returns_to_draft_with_the_reason_and_can_be_resubmitted(
    app: &TestApp,
) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "电子电路板高可靠焊接工艺").await;
    let mut publisher = app.challenges(Some(&cast.publisher)).await;
    publisher
        .submit_challenge(pb::SubmitChallengeRequest {
            name: draft.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let rejected = app
        .challenges(Some(&cast.admin))
        .await
        .reject_challenge(pb::RejectChallengeRequest {
            name: draft.name.clone(),
            reason: "考核指标缺少测试方法依据".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(rejected.state, pb::ChallengeState::Draft as i32);
    assert_eq!(rejected.rejection_reason, "考核指标缺少测试方法依据");
    publisher
        .submit_challenge(pb::SubmitChallengeRequest {
            name: draft.name,
            ..Default::default()
        })
        .await
        .expect("a rejected draft can be submitted again");
}

async fn a_rejection_needs_a_reason(app: &TestApp) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "电子电路板高可靠焊接工艺").await;
    app.challenges(Some(&cast.publisher))
        .await
        .submit_challenge(pb::SubmitChallengeRequest {
            name: draft.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let status = app
        .challenges(Some(&cast.admin))
        .await
        .reject_challenge(pb::RejectChallengeRequest {
            name: draft.name,
            reason: " ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(crate::support::violated_fields(&status), vec!["reason"]);
}

async fn every_wrong_state_transition_is_a_failed_precondition(app: &TestApp) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "瓷绝缘子无损检测技术").await;
    let mut admin = app.challenges(Some(&cast.admin)).await;
    let mut publisher = app.challenges(Some(&cast.publisher)).await;
    let close = Some(to_proto_time(app.clock.now().plus(10 * DAY)));

    // From DRAFT: approve, reject and publish are out of order.
    let wrong = [
        admin
            .approve_challenge(pb::ApproveChallengeRequest {
                name: draft.name.clone(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        admin
            .reject_challenge(pb::RejectChallengeRequest {
                name: draft.name.clone(),
                reason: "x".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        admin
            .publish_challenge(pb::PublishChallengeRequest {
                name: draft.name.clone(),
                application_close_time: close,
                ..Default::default()
            })
            .await
            .map(|_| ()),
    ];
    for result in wrong {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert_eq!(reason_of(&status), "CHALLENGE_WRONG_STATE");
    }

    // From APPROVED: submitting again and updating are out of order.
    let approved = app.approved(&cast, "瓷绝缘子无损检测技术二期").await;
    let status = publisher
        .submit_challenge(pb::SubmitChallengeRequest {
            name: approved.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = publisher
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: approved.name.clone(),
                etag: approved.etag.clone(),
                title: "新标题新标题".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);

    // CANCELLED is final.
    admin
        .cancel_challenge(pb::CancelChallengeRequest {
            name: approved.name.clone(),
            reason: pb::CancellationReason::PolicyChange as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let status = admin
        .cancel_challenge(pb::CancelChallengeRequest {
            name: approved.name.clone(),
            reason: pb::CancellationReason::PolicyChange as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = publisher
        .publish_challenge(pb::PublishChallengeRequest {
            name: approved.name,
            application_close_time: close,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

async fn a_publisher_updates_a_draft_with_a_field_mask_and_a_stale_etag_is_aborted(app: &TestApp) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "瓷绝缘子釉料配方优化").await;
    let mut publisher = app.challenges(Some(&cast.publisher)).await;
    let read = |mut client: pb::challenge_service_client::ChallengeServiceClient<
        crate::support::Authed,
    >,
                name: String| async move {
        client
            .get_challenge(pb::GetChallengeRequest { name })
            .await
            .unwrap()
            .into_inner()
            .challenge
            .unwrap()
    };
    // Read before the update (GetChallenge keeps it in the server's cache) ...
    assert_eq!(read(publisher.clone(), draft.name.clone()).await, draft);
    let updated = publisher
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: draft.name.clone(),
                etag: draft.etag.clone(),
                title: "瓷绝缘子釉料配方与烧成工艺优化".into(),
                duration_months: 12,
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
    assert_eq!(updated.title, "瓷绝缘子釉料配方与烧成工艺优化");
    // Only masked fields change.
    assert_eq!(updated.duration_months, draft.duration_months);
    assert_ne!(updated.etag, draft.etag);
    // ... and the next read shows the update.
    assert_eq!(read(publisher.clone(), draft.name.clone()).await, updated);

    let stale = publisher
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: draft.name.clone(),
                etag: draft.etag.clone(),
                title: "又一个标题又一个".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason_of(&stale), "ETAG_MISMATCH");

    let output_only = publisher
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: draft.name.clone(),
                etag: updated.etag.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["state".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(output_only.code(), Code::InvalidArgument);
    assert_eq!(
        crate::support::violated_fields(&output_only),
        vec!["update_mask.paths[0]"]
    );

    let stored = publisher
        .get_challenge(pb::GetChallengeRequest { name: draft.name })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(stored, updated, "refused updates changed nothing");
}

async fn the_publication_window_must_be_in_the_future_and_long_enough(app: &TestApp) {
    let cast = app.cast().await;
    let approved = app.approved(&cast, "压缩机转子型线设计").await;
    let mut publisher = app.challenges(Some(&cast.publisher)).await;
    let now = app.clock.now();
    // The test server's minimum window is one hour.
    for close in [now, now.plus(Duration::from_secs(1800))] {
        let status = publisher
            .publish_challenge(pb::PublishChallengeRequest {
                name: approved.name.clone(),
                application_close_time: Some(to_proto_time(close)),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            crate::support::violated_fields(&status)[0],
            "application_close_time"
        );
    }
    let missing = publisher
        .publish_challenge(pb::PublishChallengeRequest {
            name: approved.name.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(missing), Code::InvalidArgument);
}

async fn cancellation_needs_a_typed_reason_and_other_needs_a_note(app: &TestApp) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "压缩机噪声控制").await;
    let mut publisher = app.challenges(Some(&cast.publisher)).await;
    let untyped = publisher
        .cancel_challenge(pb::CancelChallengeRequest {
            name: draft.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(crate::support::violated_fields(&untyped), vec!["reason"]);
    let bare_other = publisher
        .cancel_challenge(pb::CancelChallengeRequest {
            name: draft.name.clone(),
            reason: pb::CancellationReason::Other as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(crate::support::violated_fields(&bare_other), vec!["note"]);
    let cancelled = publisher
        .cancel_challenge(pb::CancelChallengeRequest {
            name: draft.name,
            reason: pb::CancellationReason::WithdrawnByPublisher as i32,
            note: "需求已由企业自行解决".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(cancelled.state, pb::ChallengeState::Cancelled as i32);
    assert_eq!(
        cancelled.cancellation_reason,
        pb::CancellationReason::WithdrawnByPublisher as i32
    );
}

async fn two_approvals_at_once_give_one_success_and_one_refusal(app: &TestApp) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "电瓷窑炉节能改造").await;
    app.challenges(Some(&cast.publisher))
        .await
        .submit_challenge(pb::SubmitChallengeRequest {
            name: draft.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut calls = Vec::new();
    for _ in 0..8 {
        let mut client = app.challenges(Some(&cast.admin)).await;
        let name = draft.name.clone();
        calls.push(tokio::spawn(async move {
            client
                .approve_challenge(pb::ApproveChallengeRequest {
                    name,
                    ..Default::default()
                })
                .await
        }));
    }
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(status) => assert!(
                matches!(status.code(), Code::FailedPrecondition | Code::Aborted),
                "{status:?}"
            ),
        }
    }
    assert_eq!(ok, 1, "exactly one approval wins");
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
            .filter(|r| r.action == "challenge.approved")
            .count(),
        1
    );
}

on_both_backends!(
    a_challenge_goes_from_draft_to_published_and_closes_by_itself_at_the_deadline,
    a_passed_deadline_shows_as_closed_even_before_the_job_records_it,
    a_rejected_challenge_returns_to_draft_with_the_reason_and_can_be_resubmitted,
    a_rejection_needs_a_reason,
    every_wrong_state_transition_is_a_failed_precondition,
    a_publisher_updates_a_draft_with_a_field_mask_and_a_stale_etag_is_aborted,
    the_publication_window_must_be_in_the_future_and_long_enough,
    cancellation_needs_a_typed_reason_and_other_needs_a_note,
    two_approvals_at_once_give_one_success_and_one_refusal,
);
