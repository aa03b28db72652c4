//! The server's own promises: health per service, reflection, graceful shutdown.

use crate::on_both_backends;
use crate::support::TestApp;
use jiebang_proto::v1 as pb;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn every_service_reports_serving_on_the_health_service(app: &TestApp) {
    let mut health = HealthClient::new(app.channel().await);
    for service in [
        "jiebang.v1.IdentityService",
        "jiebang.v1.ChallengeService",
        "jiebang.v1.ApplicationService",
        "jiebang.v1.ReviewService",
        "jiebang.v1.MilestoneService",
        "jiebang.v1.AuditService",
        "jiebang.v1.EventService",
        "",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
}

async fn reflection_lists_the_jiebang_services(app: &TestApp) {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(app.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "jiebang.v1.ChallengeService",
        "jiebang.v1.IdentityService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

/// Calls in flight when shutdown begins all complete; none fails.
async fn shutdown_finishes_in_flight_calls(app: &TestApp) {
    let cast = app.cast().await;
    // Creating a user hashes a password (tens of milliseconds of CPU), so these are still
    // running when the shutdown starts.
    let mut calls = Vec::new();
    for i in 0..12 {
        let mut client = app.identity(Some(&cast.admin)).await;
        let org = cast.publisher_org.clone();
        calls.push(tokio::spawn(async move {
            client
                .create_user(pb::CreateUserRequest {
                    user: Some(pb::User {
                        username: format!("drain.{i}"),
                        display_name: format!("drain {i}"),
                        role: pb::Role::TeamMember as i32,
                        organization: org,
                        ..Default::default()
                    }),
                    initial_password: "drain-test-password".into(),
                    request_id: String::new(),
                })
                .await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let server = app.take_server();
    let drained = tokio::spawn(async move { server.shutdown().await });
    for call in calls {
        call.await
            .unwrap()
            .expect("an in-flight call completes during the drain");
    }
    assert!(
        drained.await.unwrap(),
        "the server drained within its timeout"
    );
}

on_both_backends!(
    every_service_reports_serving_on_the_health_service,
    reflection_lists_the_jiebang_services,
    shutdown_finishes_in_flight_calls,
);

/// Browsers speak gRPC-Web over HTTP/1.1 to the same port.
#[tokio::test]
async fn grpc_web_answers_on_the_same_port() {
    use prost::Message;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn(crate::support::Backend::Sqlite)
        .await
        .unwrap();
    let body = HealthCheckRequest {
        service: "jiebang.v1.ChallengeService".into(),
    }
    .encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend(u32::try_from(body.len()).unwrap().to_be_bytes());
    frame.extend(body);
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        frame.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&frame).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("application/grpc-web"), "{text}");
    assert!(
        text.contains("grpc-status:0"),
        "the trailer frame reports OK: {text}"
    );
    app.stop().await;
}

/// Messages above the configured limit are refused, not buffered.
#[tokio::test]
async fn messages_above_the_configured_limit_are_refused() {
    let db = crate::support::Database::fresh(crate::support::Backend::Sqlite)
        .await
        .unwrap();
    let mut config = crate::support::test_config(&db);
    config.max_message_bytes = 16 * 1024;
    let app = TestApp::spawn_with(db, jiebang_domain::ManualClock::now_real(), config).await;
    let cast = app.cast().await;
    let mut huge = crate::samples::porcelain_challenge("超大消息测试");
    huge.problem = "很长的问题描述。".repeat(2_000);
    let status = app
        .challenges(Some(&cast.publisher))
        .await
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(huge),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            status.code(),
            tonic::Code::OutOfRange | tonic::Code::ResourceExhausted
        ),
        "{status:?}"
    );
    app.stop().await;
}

/// SQLite runs in WAL mode: its rollback journal would commit only ~136 times a second here.
#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    use sqlx::Row;
    let app = TestApp::spawn(crate::support::Backend::Sqlite)
        .await
        .unwrap();
    let mut db = app.db.connect().await;
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode, "wal");
    app.stop().await;
}

/// Every milestone RPC answers an empty request with INVALID_ARGUMENT naming the field, never
/// UNIMPLEMENTED or INTERNAL: step 4 is served whole.
#[tokio::test]
async fn every_milestone_rpc_refuses_an_empty_request_precisely() {
    use jiebang_proto::v1::milestone_service_client::MilestoneServiceClient;
    let app = TestApp::spawn(crate::support::Backend::Sqlite)
        .await
        .unwrap();
    let mut client = MilestoneServiceClient::with_interceptor(
        app.channel().await,
        crate::support::Bearer::token(&app.admin_token),
    );
    let codes = vec![
        (
            "GetProject",
            client
                .get_project(pb::GetProjectRequest::default())
                .await
                .map(drop),
        ),
        (
            "GetMilestone",
            client
                .get_milestone(pb::GetMilestoneRequest::default())
                .await
                .map(drop),
        ),
        (
            "ListMilestones",
            client
                .list_milestones(pb::ListMilestonesRequest::default())
                .await
                .map(drop),
        ),
        (
            "SubmitMilestoneReport",
            client
                .submit_milestone_report(pb::SubmitMilestoneReportRequest::default())
                .await
                .map(drop),
        ),
        (
            "FormAcceptancePanel",
            client
                .form_acceptance_panel(pb::FormAcceptancePanelRequest::default())
                .await
                .map(drop),
        ),
        (
            "CastAcceptanceVote",
            client
                .cast_acceptance_vote(pb::CastAcceptanceVoteRequest::default())
                .await
                .map(drop),
        ),
        (
            "ListAcceptanceVotes",
            client
                .list_acceptance_votes(pb::ListAcceptanceVotesRequest::default())
                .await
                .map(drop),
        ),
        (
            "DecideMilestone",
            client
                .decide_milestone(pb::DecideMilestoneRequest::default())
                .await
                .map(drop),
        ),
        (
            "GrantExtension",
            client
                .grant_extension(pb::GrantExtensionRequest::default())
                .await
                .map(drop),
        ),
        (
            "ListDisbursements",
            client
                .list_disbursements(pb::ListDisbursementsRequest::default())
                .await
                .map(drop),
        ),
        (
            "ReleaseTranche",
            client
                .release_tranche(pb::ReleaseTrancheRequest::default())
                .await
                .map(drop),
        ),
        (
            "RankHorseRace",
            client
                .rank_horse_race(pb::RankHorseRaceRequest::default())
                .await
                .map(drop),
        ),
        (
            "SelectHorseRaceContinuers",
            client
                .select_horse_race_continuers(pb::SelectHorseRaceContinuersRequest::default())
                .await
                .map(drop),
        ),
        (
            "RecordProjectFailure",
            client
                .record_project_failure(pb::RecordProjectFailureRequest::default())
                .await
                .map(drop),
        ),
    ];
    let wrong: Vec<String> = codes
        .into_iter()
        .filter_map(|(rpc, result)| match result {
            Err(status) if status.code() == tonic::Code::InvalidArgument => None,
            other => Some(format!("{rpc}: {other:?}")),
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    app.stop().await;
}
