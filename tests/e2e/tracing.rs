//! Traces and logs of the real server: an OTLP receiver on loopback (built on the
//! OpenTelemetry protobuf definitions) gets the spans of a call made with a W3C `traceparent`,
//! in the caller's trace, covering the RPC and its database work; the JSON log lines of that
//! call carry the same trace id.

use jiebang_e2e::ServerProcess;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "bureau-admin-password";

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_traceparent_is_traced_into_the_callers_trace_down_to_the_database() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{otlp}");
    let server = ServerProcess::start(
        dir.path(),
        None,
        &[
            ("JIEBANG_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );

    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let parent_span = &uuid::Uuid::new_v4().simple().to_string()[..16];
    let mut request = tonic::Request::new(pb::LoginRequest {
        username: "admin".into(),
        password: ADMIN_PASSWORD.into(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{parent_span}-01").parse().unwrap(),
    );
    IdentityServiceClient::connect(server.url.clone())
        .await
        .unwrap()
        .login(request)
        .await
        .expect("login");

    let ours = |span: &Span| hex(&span.trace_id) == trace_id;
    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let spans: Vec<Span> = receiver
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| ours(s))
            .cloned()
            .collect();
        let has_rpc = spans.iter().any(|s| s.name == "grpc.request");
        let has_db = spans.iter().any(|s| s.name.starts_with("db "));
        if (has_rpc && has_db) || Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let rpc = spans
        .iter()
        .find(|s| s.name == "grpc.request")
        .unwrap_or_else(|| panic!("no RPC span in the caller's trace; got {names:?}"));
    assert_eq!(
        hex(&rpc.parent_span_id),
        parent_span,
        "the RPC span is a child of the caller's span"
    );
    let db = spans
        .iter()
        .find(|s| s.name == "db users.credentials")
        .unwrap_or_else(|| panic!("no database span in the trace; got {names:?}"));
    assert!(
        db.start_time_unix_nano >= rpc.start_time_unix_nano
            && db.end_time_unix_nano <= rpc.end_time_unix_nano,
        "the database work happens within the call"
    );

    // The call's JSON log line ("login") carries the caller's trace id.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let line = loop {
        match server.stdout.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains("\"login\"") && line.contains(&trace_id) => break Some(line),
            Ok(line) => seen.push(line),
            Err(_) if Instant::now() > deadline => break None,
            Err(_) => {}
        }
    };
    assert!(
        line.is_some(),
        "no log line of the call with trace id {trace_id}:\n{}",
        seen.join("\n")
    );
    assert!(server.terminate());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
