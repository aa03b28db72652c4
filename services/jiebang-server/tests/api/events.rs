//! Events: every state change writes one; subscribers stream them from a cursor, see only what
//! they may read, and receive events written through another server process.

use crate::on_both_backends;
use crate::support::TestApp;
use jiebang_proto::v1 as pb;
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::Streaming;

async fn next_event(stream: &mut Streaming<pb::WatchEventsResponse>) -> pb::Event {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("stream open")
        .expect("event")
        .event
        .expect("event body")
}

/// Reads events until one of `wanted` type for `resource` arrives.
pub(crate) async fn wait_for(
    stream: &mut Streaming<pb::WatchEventsResponse>,
    wanted: pb::EventType,
    resource: &str,
) -> pb::Event {
    loop {
        let event = next_event(stream).await;
        if event.r#type == wanted as i32 && event.resource == resource {
            return event;
        }
    }
}

pub(crate) async fn watch(
    app: &TestApp,
    token: &str,
    after: i64,
    prefix: &str,
) -> Streaming<pb::WatchEventsResponse> {
    app.events(Some(token))
        .await
        .watch_events(pb::WatchEventsRequest {
            after_sequence: after,
            types: vec![],
            resource_prefix: prefix.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn a_team_sees_publication_but_never_another_organisations_drafts(app: &TestApp) {
    let cast = app.cast().await;
    let mut team = watch(app, &cast.team_member, 0, "challenges/").await;
    let draft = app.draft(&cast, "仅发榜方可见的事件").await;
    let published = app
        .published(&cast, "公开发布的事件", Duration::from_secs(7 * 86_400))
        .await;
    let event = next_event(&mut team).await;
    assert_eq!(
        event.r#type,
        pb::EventType::ChallengePublished as i32,
        "the first event a team may see"
    );
    assert_eq!(event.resource, published.name);
    assert_eq!(event.state, "CHALLENGE_STATE_PUBLISHED");
    assert!(
        event.actor.is_empty(),
        "people are named in events only to the bureau and to themselves"
    );
    assert_ne!(event.resource, draft.name);

    let mut publisher = watch(app, &cast.publisher, 0, &draft.name).await;
    let created = next_event(&mut publisher).await;
    assert_eq!(created.r#type, pb::EventType::ChallengeCreated as i32);
}

async fn a_subscriber_resumes_after_its_cursor(app: &TestApp) {
    let cast = app.cast().await;
    let first = app
        .published(&cast, "游标测试一号", Duration::from_secs(7 * 86_400))
        .await;
    let mut stream = watch(app, &cast.team_member, 0, "challenges/").await;
    let seen = wait_for(&mut stream, pb::EventType::ChallengePublished, &first.name).await;
    drop(stream);

    let second = app
        .published(&cast, "游标测试二号", Duration::from_secs(7 * 86_400))
        .await;
    let mut resumed = watch(app, &cast.team_member, seen.sequence, "challenges/").await;
    let next = next_event(&mut resumed).await;
    assert!(next.sequence > seen.sequence);
    assert_eq!(
        next.resource, second.name,
        "nothing before the cursor is repeated"
    );
}

async fn an_event_written_through_one_server_reaches_a_subscriber_on_another(app: &TestApp) {
    let cast = app.cast().await;
    let replica = TestApp::spawn_on(app.db.clone(), app.clock.clone()).await;
    let mut on_replica = watch(&replica, &cast.team_member, 0, "challenges/").await;
    let published = app
        .published(&cast, "跨进程事件测试", Duration::from_secs(7 * 86_400))
        .await;
    let event = wait_for(
        &mut on_replica,
        pb::EventType::ChallengePublished,
        &published.name,
    )
    .await;
    assert_eq!(event.summary, "跨进程事件测试");
    drop(on_replica);
    replica.take_server().shutdown().await;
}

async fn the_clock_closing_a_challenge_is_an_event(app: &TestApp) {
    let cast = app.cast().await;
    let published = app
        .published(&cast, "截止事件测试", Duration::from_secs(2 * 86_400))
        .await;
    let mut stream = watch(app, &cast.team_member, 0, &published.name).await;
    app.clock.advance(Duration::from_secs(3 * 86_400));
    let event = wait_for(
        &mut stream,
        pb::EventType::ChallengeApplicationsClosed,
        &published.name,
    )
    .await;
    assert_eq!(event.actor, "system");
}

on_both_backends!(
    a_team_sees_publication_but_never_another_organisations_drafts,
    a_subscriber_resumes_after_its_cursor,
    an_event_written_through_one_server_reaches_a_subscriber_on_another,
    the_clock_closing_a_challenge_is_an_event,
);
