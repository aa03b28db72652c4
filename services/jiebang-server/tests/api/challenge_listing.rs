//! Listing challenges: filters and keyset pagination.

use crate::on_both_backends;
use crate::samples::porcelain_challenge;
use crate::support::{TestApp, test_config};
use jiebang_proto::v1 as pb;
use std::collections::HashSet;
use std::time::Duration;

async fn pages_cover_every_challenge_once_newest_first(app: &TestApp) {
    let cast = app.cast().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(app.draft(&cast, &format!("分页测试榜单第{i}号")).await.name);
    }
    let mut client = app.challenges(Some(&cast.publisher)).await;
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_challenges(pb::ListChallengesRequest {
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(page.challenges.len() <= 3);
        seen.extend(page.challenges.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    created.reverse();
    assert_eq!(seen, created, "every challenge once, newest first");
}

async fn filters_narrow_by_state_field_publisher_and_title(app: &TestApp) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "电瓷釉面缺陷视觉检测").await;
    let published = app
        .published(&cast, "空压机永磁变频驱动", Duration::from_secs(7 * 86_400))
        .await;
    let mut compressor = porcelain_challenge("空压机余热回收利用");
    compressor.industry_field = "air_compressors".into();
    let other_field = app
        .challenges(Some(&cast.publisher))
        .await
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(compressor),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    let mut client = app.challenges(Some(&cast.publisher)).await;
    let names = |resp: pb::ListChallengesResponse| -> HashSet<String> {
        resp.challenges.into_iter().map(|c| c.name).collect()
    };

    let by_state = client
        .list_challenges(pb::ListChallengesRequest {
            state: pb::ChallengeState::Draft as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        names(by_state),
        HashSet::from([draft.name.clone(), other_field.name.clone()])
    );

    let by_field = client
        .list_challenges(pb::ListChallengesRequest {
            industry_field: "air_compressors".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(by_field), HashSet::from([other_field.name.clone()]));

    let by_title = client
        .list_challenges(pb::ListChallengesRequest {
            title_contains: "空压机".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        names(by_title),
        HashSet::from([published.name.clone(), other_field.name.clone()])
    );

    let wildcard_is_literal = client
        .list_challenges(pb::ListChallengesRequest {
            title_contains: "%".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        wildcard_is_literal.challenges.is_empty(),
        "% is matched literally, not as a wildcard"
    );

    let by_publisher = client
        .list_challenges(pb::ListChallengesRequest {
            publisher: cast.publisher_org.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_publisher.challenges.len(), 3);

    // After the deadline a PUBLISHED filter no longer matches; APPLICATIONS_CLOSED does.
    app.clock.advance(Duration::from_secs(8 * 86_400));
    let open = client
        .list_challenges(pb::ListChallengesRequest {
            state: pb::ChallengeState::Published as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(open.challenges.is_empty());
    let closed = client
        .list_challenges(pb::ListChallengesRequest {
            state: pb::ChallengeState::ApplicationsClosed as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(closed), HashSet::from([published.name]));
}

async fn a_page_token_cannot_be_reused_with_other_filters(app: &TestApp) {
    let cast = app.cast().await;
    for i in 0..3 {
        app.draft(&cast, &format!("令牌测试榜单{i}号")).await;
    }
    let mut client = app.challenges(Some(&cast.publisher)).await;
    let first = client
        .list_challenges(pb::ListChallengesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let status = client
        .list_challenges(pb::ListChallengesRequest {
            page_size: 1,
            page_token: first.next_page_token,
            industry_field: "air_compressors".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

/// The caller's first page of challenges in `view`.
async fn listed(
    client: &mut pb::challenge_service_client::ChallengeServiceClient<crate::support::Authed>,
    view: pb::ChallengeView,
) -> Vec<pb::Challenge> {
    client
        .list_challenges(pb::ListChallengesRequest {
            view: view as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .challenges
}

async fn a_listing_shows_the_basic_view_unless_full_is_asked_for(app: &TestApp) {
    let cast = app.cast().await;
    let draft = app.draft(&cast, "列表视图测试榜单").await;
    let mut client = app.challenges(Some(&cast.publisher)).await;
    // BASIC (the default): every short field, no long texts or nested lists.
    let basic = pb::Challenge {
        problem: String::new(),
        goals: String::new(),
        indicators: vec![],
        end_user: String::new(),
        eligibility: None,
        criteria: vec![],
        tranches: vec![],
        responsible_department: String::new(),
        contact: None,
        review_settings: None,
        ..draft.clone()
    };
    assert!(!draft.problem.is_empty() && !draft.criteria.is_empty());
    assert!(basic.government_funding_fen > 0 && !basic.title.is_empty());
    assert_eq!(
        listed(&mut client, pb::ChallengeView::Unspecified).await,
        vec![basic.clone()]
    );
    assert_eq!(
        listed(&mut client, pb::ChallengeView::Basic).await,
        vec![basic]
    );
    assert_eq!(
        listed(&mut client, pb::ChallengeView::Full).await,
        vec![draft.clone()]
    );

    // A listing after a change shows the change (listings reuse parsed challenges by version).
    let updated = client
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: draft.name.clone(),
                etag: draft.etag.clone(),
                title: "列表视图测试榜单（修订）".into(),
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
    assert_eq!(
        listed(&mut client, pb::ChallengeView::Full).await,
        vec![updated]
    );

    let unknown = client
        .list_challenges(pb::ListChallengesRequest {
            view: 99,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);
    assert_eq!(crate::support::violated_fields(&unknown), vec!["view"]);
}

async fn a_write_through_one_replica_reaches_the_others_cached_reads(app: &TestApp) {
    // Both servers keep challenges in memory. On PostgreSQL for ten minutes: only the notice
    // the write sends at its commit can make the other replica read it again in time. On
    // SQLite (one process owns the file; a second is not a deployment) the entries' expiry
    // does, so it is short there.
    let on_postgres = app.db.url.starts_with("postgres");
    let mut config = test_config(&app.db);
    if !on_postgres {
        config.challenge_cache_ttl = Some(Duration::from_millis(300));
    }
    let replica = TestApp::spawn_with(app.db.clone(), app.clock.clone(), config).await;
    let cast = app.cast().await;
    let draft = app.draft(&cast, "两个副本共享的榜单").await;
    let mut elsewhere = replica.challenges(Some(&cast.publisher)).await;
    let before = titles_read(&mut elsewhere, &draft.name).await;
    assert_eq!(before, (draft.title.clone(), draft.title.clone()));
    // The same reads again: now served from the replica's memory.
    titles_read(&mut elsewhere, &draft.name).await;

    let renamed = rename(app, &cast.publisher, &draft, "两个副本共享的榜单（已改）").await;
    eventually_reads(&mut elsewhere, &draft.name, "两个副本共享的榜单（已改）").await;

    if on_postgres {
        // The replicas' listening connections drop, and a write comes while they are down:
        // its notice is lost, and the replica must not go on serving what it kept.
        let mut conn = app.db.connect().await;
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        rename(app, &cast.publisher, &renamed, "断线时改的标题").await;
        eventually_reads(&mut elsewhere, &draft.name, "断线时改的标题").await;
    }
    replica.take_server().shutdown().await;
}

/// Polls both reads until they show `title`, for up to 3 s.
async fn eventually_reads(
    client: &mut pb::challenge_service_client::ChallengeServiceClient<crate::support::Authed>,
    name: &str,
    title: &str,
) {
    let started = std::time::Instant::now();
    loop {
        let seen = titles_read(client, name).await;
        if seen.0 == title && seen.1 == title {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the other replica still reads {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Renames `challenge` (at its etag) through `app`; the challenge as renamed.
async fn rename(
    app: &TestApp,
    publisher: &str,
    challenge: &pb::Challenge,
    title: &str,
) -> pb::Challenge {
    app.challenges(Some(publisher))
        .await
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: challenge.name.clone(),
                etag: challenge.etag.clone(),
                title: title.into(),
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
        .expect("the renamed challenge")
}

/// The challenge's title as GetChallenge and as ListChallenges show it.
async fn titles_read(
    client: &mut pb::challenge_service_client::ChallengeServiceClient<crate::support::Authed>,
    name: &str,
) -> (String, String) {
    let got = client
        .get_challenge(pb::GetChallengeRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .expect("challenge")
        .title;
    let listed = listed(client, pb::ChallengeView::Basic)
        .await
        .into_iter()
        .find(|c| c.name == name)
        .expect("listed")
        .title;
    (got, listed)
}

on_both_backends!(
    a_write_through_one_replica_reaches_the_others_cached_reads,
    pages_cover_every_challenge_once_newest_first,
    filters_narrow_by_state_field_publisher_and_title,
    a_page_token_cannot_be_reused_with_other_filters,
    a_listing_shows_the_basic_view_unless_full_is_asked_for,
);
