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
