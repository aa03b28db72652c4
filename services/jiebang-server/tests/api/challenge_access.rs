//! Who may do what to a challenge: every challenge RPC tried by every role.
//!
//! Unpublished challenges do not exist for outsiders (NOT_FOUND, so drafts leak not even their
//! existence); known-but-forbidden actions are PERMISSION_DENIED; no token is UNAUTHENTICATED.

use crate::on_both_backends;
use crate::support::{Cast, TestApp};
use jiebang_grpc::convert::to_proto_time;
use jiebang_proto::v1 as pb;
use std::time::Duration;
use tonic::Code;

#[derive(Debug, Clone, Copy)]
enum Rpc {
    Create,
    GetDraft,
    GetPublished,
    List,
    Update,
    Submit,
    Approve,
    Reject,
    Publish,
    CancelDraft,
    CancelPublished,
}

/// The roles of one row, in order.
const ROLES: [&str; 6] = [
    "admin",
    "publisher",
    "rival publisher",
    "team member",
    "expert",
    "no token",
];

use Code::{NotFound as NF, PermissionDenied as PD, Unauthenticated as UA};
const OK: Code = Code::Ok;

/// Expected outcome per role, in the order of [`ROLES`].
const MATRIX: &[(Rpc, [Code; 6])] = &[
    (Rpc::Create, [PD, OK, OK, PD, PD, UA]),
    (Rpc::GetDraft, [OK, OK, NF, NF, NF, UA]),
    (Rpc::GetPublished, [OK, OK, OK, OK, OK, UA]),
    (Rpc::List, [OK, OK, OK, OK, OK, UA]),
    (Rpc::Update, [PD, OK, NF, NF, NF, UA]),
    (Rpc::Submit, [PD, OK, NF, NF, NF, UA]),
    (Rpc::Approve, [OK, PD, NF, NF, NF, UA]),
    (Rpc::Reject, [OK, PD, NF, NF, NF, UA]),
    (Rpc::Publish, [OK, OK, NF, NF, NF, UA]),
    (Rpc::CancelDraft, [OK, OK, NF, NF, NF, UA]),
    (Rpc::CancelPublished, [OK, PD, PD, PD, PD, UA]),
];

fn token(cast: &Cast, role: usize) -> Option<&str> {
    match role {
        0 => Some(&cast.admin),
        1 => Some(&cast.publisher),
        2 => Some(&cast.rival_publisher),
        3 => Some(&cast.team_member),
        4 => Some(&cast.expert),
        _ => None,
    }
}

/// A fresh challenge in the state the RPC acts on, so every cell starts from the same place.
async fn subject(app: &TestApp, cast: &Cast, rpc: Rpc) -> pb::Challenge {
    match rpc {
        Rpc::Create | Rpc::List => pb::Challenge::default(),
        Rpc::GetDraft | Rpc::Update | Rpc::Submit | Rpc::CancelDraft => {
            app.draft(cast, "权限矩阵草稿榜单").await
        }
        Rpc::Approve | Rpc::Reject => {
            let draft = app.draft(cast, "权限矩阵待审榜单").await;
            app.challenges(Some(&cast.publisher))
                .await
                .submit_challenge(pb::SubmitChallengeRequest {
                    name: draft.name.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .challenge
                .unwrap()
        }
        Rpc::Publish => app.approved(cast, "权限矩阵已批榜单").await,
        Rpc::GetPublished | Rpc::CancelPublished => {
            app.published(cast, "权限矩阵已发布榜单", Duration::from_secs(7 * 86_400))
                .await
        }
    }
}

async fn call(app: &TestApp, token: Option<&str>, rpc: Rpc, c: &pb::Challenge) -> Code {
    let mut client = app.challenges(token).await;
    let name = c.name.clone();
    let result = match rpc {
        Rpc::Create => client
            .create_challenge(pb::CreateChallengeRequest {
                challenge: Some(crate::samples::porcelain_challenge("权限矩阵新建榜单")),
                request_id: String::new(),
            })
            .await
            .map(|_| ()),
        Rpc::GetDraft | Rpc::GetPublished => client
            .get_challenge(pb::GetChallengeRequest { name })
            .await
            .map(|_| ()),
        Rpc::List => client
            .list_challenges(pb::ListChallengesRequest::default())
            .await
            .map(|_| ()),
        Rpc::Update => client
            .update_challenge(pb::UpdateChallengeRequest {
                challenge: Some(pb::Challenge {
                    name,
                    etag: c.etag.clone(),
                    title: "权限矩阵改后标题".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".into()],
                }),
                request_id: String::new(),
            })
            .await
            .map(|_| ()),
        Rpc::Submit => client
            .submit_challenge(pb::SubmitChallengeRequest {
                name,
                ..Default::default()
            })
            .await
            .map(|_| ()),
        Rpc::Approve => client
            .approve_challenge(pb::ApproveChallengeRequest {
                name,
                ..Default::default()
            })
            .await
            .map(|_| ()),
        Rpc::Reject => client
            .reject_challenge(pb::RejectChallengeRequest {
                name,
                reason: "理由".into(),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        Rpc::Publish => client
            .publish_challenge(pb::PublishChallengeRequest {
                name,
                application_close_time: Some(to_proto_time(
                    app.clock.now().plus(Duration::from_secs(10 * 86_400)),
                )),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        Rpc::CancelDraft | Rpc::CancelPublished => client
            .cancel_challenge(pb::CancelChallengeRequest {
                name,
                reason: pb::CancellationReason::WithdrawnByPublisher as i32,
                ..Default::default()
            })
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

async fn every_role_gets_exactly_what_the_matrix_allows_on_every_challenge_rpc(app: &TestApp) {
    let cast = app.cast().await;
    let mut mismatches = Vec::new();
    for (rpc, expected) in MATRIX {
        for (role, want) in expected.iter().enumerate() {
            let c = subject(app, &cast, *rpc).await;
            let got = call(app, token(&cast, role), *rpc, &c).await;
            if got != *want {
                mismatches.push(format!(
                    "{rpc:?} as {}: expected {want:?}, got {got:?}",
                    ROLES[role]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "permission mismatches:\n{}",
        mismatches.join("\n")
    );
}

async fn drafts_of_other_organisations_never_appear_in_listings(app: &TestApp) {
    let cast = app.cast().await;
    app.draft(&cast, "仅发榜方可见的草稿").await;
    let published = app
        .published(&cast, "所有人可见的榜单", Duration::from_secs(7 * 86_400))
        .await;
    for token in [&cast.rival_publisher, &cast.team_member, &cast.expert] {
        let names: Vec<String> = app
            .challenges(Some(token))
            .await
            .list_challenges(pb::ListChallengesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .challenges
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, vec![published.name.clone()]);
    }
    for token in [&cast.publisher, &cast.admin] {
        let count = app
            .challenges(Some(token))
            .await
            .list_challenges(pb::ListChallengesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .challenges
            .len();
        assert_eq!(count, 2);
    }
}

on_both_backends!(
    every_role_gets_exactly_what_the_matrix_allows_on_every_challenge_rpc,
    drafts_of_other_organisations_never_appear_in_listings,
);
