//! Building the services and serving them, with a graceful shutdown that tonic alone does not
//! give: stop accepting, let in-flight calls finish within the drain timeout, then close.

use crate::clock::ClockApi;
use crate::config::{Config, SqliteSynchronous};
use jiebang_application::ApplicationApi;
use jiebang_audit::AuditApi;
use jiebang_challenge::ChallengeApi;
use jiebang_domain::Clock;
use jiebang_domain::challenge::PublicationLimits;
use jiebang_events::EventsApi;
use jiebang_grpc::auth::{self, TokenKeys};
use jiebang_grpc::{Platform, Settings};
use jiebang_identity::IdentityApi;
use jiebang_identity::bootstrap::{self, Bootstrap};
use jiebang_milestone::MilestoneApi;
use jiebang_proto::v1::application_service_server::ApplicationServiceServer;
use jiebang_proto::v1::audit_service_server::AuditServiceServer;
use jiebang_proto::v1::challenge_service_server::ChallengeServiceServer;
use jiebang_proto::v1::clock_service_server::ClockServiceServer;
use jiebang_proto::v1::event_service_server::EventServiceServer;
use jiebang_proto::v1::identity_service_server::IdentityServiceServer;
use jiebang_proto::v1::milestone_service_server::MilestoneServiceServer;
use jiebang_proto::v1::review_service_server::ReviewServiceServer;
use jiebang_review::ReviewApi;
use jiebang_storage::{Store, StoreOptions, Synchronous};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::InterceptorLayer;
use tonic::transport::Server;

/// A server that is serving; [`RunningServer::shutdown`] stops it gracefully.
pub struct RunningServer {
    pub local_addr: SocketAddr,
    /// What the bootstrap did on this start (tests and `main` report it).
    pub bootstrap: Bootstrap,
    pub platform: Platform,
    shutdown: watch::Sender<bool>,
    serving: JoinHandle<Result<(), tonic::transport::Error>>,
    jobs: Vec<JoinHandle<()>>,
    drain_timeout: Duration,
}

impl RunningServer {
    /// Stops accepting connections, gives in-flight calls up to the drain timeout, stops the
    /// background jobs and closes the database pool. Returns whether every call finished.
    pub async fn shutdown(self) -> bool {
        let _ = self.shutdown.send(true);
        let mut serving = self.serving;
        let drained = match tokio::time::timeout(self.drain_timeout, &mut serving).await {
            Ok(Ok(Ok(()))) => true,
            Ok(Ok(Err(e))) => {
                tracing::error!(error = %e, "server stopped with an error");
                false
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "server task failed");
                false
            }
            Err(_) => {
                tracing::warn!(
                    timeout = ?self.drain_timeout,
                    "drain timeout reached; cutting remaining calls"
                );
                serving.abort();
                false
            }
        };
        for job in self.jobs {
            let _ = job.await;
        }
        self.platform.store.close().await;
        tracing::info!(drained, "server stopped");
        drained
    }
}

/// Opens the database (migrating it), bootstraps the admin, binds the listener and serves.
pub async fn start(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<RunningServer> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let mut options = StoreOptions::new(config.database_url());
    options.max_connections = config.db_max_connections;
    options.challenge_cache_ttl = config.challenge_cache_ttl();
    options.sqlite_synchronous = match config.sqlite_synchronous {
        SqliteSynchronous::Full => Synchronous::Full,
        SqliteSynchronous::Normal => Synchronous::Normal,
    };
    let store = Store::open(&options).await?;
    let secret =
        jiebang_storage::secrets::get_or_create(&store, "token_signing_key", clock.now(), || {
            hex::encode(rand::random::<[u8; 32]>())
        })
        .await?;
    let tokens = Arc::new(TokenKeys::new(secret.as_bytes(), config.token_ttl));
    let platform = Platform {
        store,
        clock: clock.clone(),
        tokens: tokens.clone(),
        settings: Arc::new(Settings {
            publication: PublicationLimits {
                min_window: config.min_application_window,
                ..PublicationLimits::default()
            },
            event_poll_interval: config.event_poll_interval,
            document_dir: config.document_dir(),
            max_document_bytes: config.max_document_bytes,
            notice_working_days: config.notice_working_days,
            acceptance: config.acceptance_rules().map_err(|e| anyhow::anyhow!(e))?,
            calendar: config.calendar().map_err(|e| anyhow::anyhow!(e))?,
        }),
        events_committed: Arc::new(Notify::new()),
    };
    let bootstrap = bootstrap::ensure_admin(
        &platform,
        config.bootstrap_admin_password.as_ref().map(|s| s.expose()),
    )
    .await
    .map_err(|e| anyhow::anyhow!("bootstrap failed: {e}"))?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let limit = config.max_message_bytes;
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<IdentityServiceServer<IdentityApi>>()
        .await;
    health
        .set_serving::<ChallengeServiceServer<ChallengeApi>>()
        .await;
    health
        .set_serving::<ApplicationServiceServer<ApplicationApi>>()
        .await;
    health.set_serving::<ReviewServiceServer<ReviewApi>>().await;
    health
        .set_serving::<MilestoneServiceServer<MilestoneApi>>()
        .await;
    health.set_serving::<AuditServiceServer<AuditApi>>().await;
    health.set_serving::<EventServiceServer<EventsApi>>().await;
    health.set_serving::<ClockServiceServer<ClockApi>>().await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(jiebang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(jiebang_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let events_api = EventsApi::new(platform.clone(), shutdown_rx.clone());
    let event_streams = events_api.streams();
    let router = Server::builder()
        .accept_http1(true)
        .timeout(config.request_timeout)
        .trace_fn(crate::telemetry::request_span)
        .layer(tonic_web::GrpcWebLayer::new())
        // Inside gRPC-Web (it sees native gRPC trailers), outside authentication (it counts
        // the calls authentication refuses).
        .layer(crate::metrics::MetricsLayer)
        .layer(InterceptorLayer::new(auth::interceptor(tokens, clock)))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            IdentityServiceServer::new(IdentityApi::new(platform.clone()))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            ChallengeServiceServer::new(ChallengeApi::new(platform.clone()))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            ApplicationServiceServer::new(ApplicationApi::new(platform.clone()))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            ReviewServiceServer::new(ReviewApi::new(platform.clone()))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            MilestoneServiceServer::new(MilestoneApi::new(platform.clone()))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(
            AuditServiceServer::new(AuditApi::new(platform.clone()))
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
        .add_service(ClockServiceServer::new(ClockApi::new(platform.clone())))
        .add_service(
            EventServiceServer::new(events_api)
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        );

    let listener = TcpListener::bind(config.listen_addr).await?;
    let local_addr = listener.local_addr()?;
    let mut stop = shutdown_rx.clone();
    let health_on_stop = health.clone();
    // Without TCP_NODELAY a response written in two pieces (headers, then data and trailers)
    // waits for the client's delayed ACK: 40 ms added to every such call.
    let incoming = TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted {
            let _ = stream.set_nodelay(true);
        }
        accepted
    });
    let serving = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
        let _ = stop.wait_for(|stopping| *stopping).await;
        // Tell load balancers first, so no new calls are routed here while draining.
        health_on_stop
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
    }));
    let mut jobs = vec![tokio::spawn(crate::jobs::close_deadlines(
        platform.clone(),
        config.deadline_check_interval,
        shutdown_rx.clone(),
    ))];
    if let Some(addr) = config.metrics_addr {
        crate::metrics::install(addr)?;
        jobs.push(tokio::spawn(crate::metrics::sample(
            platform.clone(),
            event_streams,
            Duration::from_secs(5),
            shutdown_rx,
        )));
    }
    tracing::info!(%local_addr, database = %redact_url(&config.database_url()), "serving");
    Ok(RunningServer {
        local_addr,
        bootstrap,
        platform,
        shutdown: shutdown_tx,
        serving,
        jobs,
        drain_timeout: config.drain_timeout,
    })
}

/// The database URL without its password, for logs.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_never_reach_the_log() {
        assert_eq!(
            super::redact_url("postgres://jiebang:hunter2@db:5432/jiebang"),
            "postgres://jiebang:***@db:5432/jiebang"
        );
        assert_eq!(
            super::redact_url("sqlite://./jiebang.db"),
            "sqlite://./jiebang.db"
        );
    }
}
