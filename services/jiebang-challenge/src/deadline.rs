//! The clock's own transition: PUBLISHED → APPLICATIONS_CLOSED at the deadline, with no call
//! needed. Reads already show a passed deadline as closed (`Challenge::state_at`); this job
//! records the transition, its audit record and its event. Replicas may run it together: the
//! version check lets exactly one of them record each close.

use crate::convert::challenge_to_proto;
use jiebang_domain::caller::SYSTEM_ACTOR;
use jiebang_grpc::idempotency::Idempotency;
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::StoreError;
use jiebang_storage::challenges as rows;

/// Closes every challenge whose deadline has passed; returns how many this call closed.
pub async fn close_due(platform: &Platform) -> Result<usize, ApiError> {
    let now = platform.now();
    let due = rows::due_for_close(&platform.store, now, 100).await?;
    let mut closed = 0;
    for challenge in due {
        let Some(next) = challenge.close_if_due(now) else {
            continue;
        };
        let idem = Idempotency::none(close_digest(&challenge.name(), challenge.version));
        let response = challenge_to_proto(&next, now);
        let mut tx = platform.store.begin().await?;
        match rows::update(&mut tx, &next, challenge.version).await {
            Ok(()) => {}
            // Another replica (or a concurrent cancel) got there first.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
        let audience = next.audience();
        let change = ChangeBuilder {
            at: now,
            actor: SYSTEM_ACTOR.into(),
            action: "challenge.applications_closed",
            event_type: pb::EventType::ChallengeApplicationsClosed,
            resource: next.name(),
            chain: None,
            state: pb::ChallengeState::ApplicationsClosed
                .as_str_name()
                .to_owned(),
            summary: next.spec.title.clone(),
            audience: &audience,
            idempotency: &idem,
        }
        .build(&response);
        match platform.commit(tx, &change).await {
            Ok(()) => {
                tracing::info!(challenge = %next.name(), "applications closed at the deadline");
                closed += 1;
            }
            Err(e) if e.is_retryable() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(closed)
}

/// Moves AWARDED challenges whose projects have started to IN_PROGRESS; returns how many.
pub async fn start_due(platform: &Platform) -> Result<usize, ApiError> {
    let now = platform.now();
    let mut conn = platform
        .store
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from)?;
    let due = jiebang_storage::notice::awarded_and_started(&mut conn, now).await?;
    drop(conn);
    let mut started = 0;
    for id in due {
        let Some(challenge) = rows::get(&platform.store, &id).await? else {
            continue;
        };
        let Ok(next) = challenge.review_step(
            jiebang_domain::challenge::ChallengeState::Awarded,
            jiebang_domain::challenge::ChallengeState::InProgress,
            now,
        ) else {
            continue;
        };
        let idem = Idempotency::none(close_digest(&challenge.name(), challenge.version));
        let response = challenge_to_proto(&next, now);
        let mut tx = platform.store.begin().await?;
        match rows::update(&mut tx, &next, challenge.version).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
        let change = ChangeBuilder {
            at: now,
            actor: SYSTEM_ACTOR.into(),
            action: "challenge.in_progress",
            event_type: pb::EventType::ChallengeInProgress,
            resource: next.name(),
            chain: None,
            state: pb::ChallengeState::InProgress.as_str_name().to_owned(),
            summary: next.spec.title.clone(),
            audience: &next.audience(),
            idempotency: &idem,
        }
        .build(&response);
        match platform.commit(tx, &change).await {
            Ok(()) => started += 1,
            Err(e) if e.is_retryable() => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(started)
}

/// The request digest of a clock transition: what was closed, at which version.
fn close_digest(name: &str, version: i64) -> String {
    jiebang_grpc::idempotency::digest(&pb::GetChallengeRequest {
        name: format!("{name}@{version}"),
    })
}
