//! Prometheus metrics on a port of their own (`JIEBANG_METRICS_ADDR`): per-RPC request counts
//! by gRPC status and latency histograms, the database pool, the events outbox.
//!
//! The exporter is `metrics-exporter-prometheus` (the `metrics` facade's reference exporter),
//! rather than a hand-written text format: histograms, label escaping and the scrape listener
//! come with it.

use jiebang_grpc::Platform;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use pin_project_lite::pin_project;
use sqlx::Row;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub const REQUESTS: &str = "jiebang_rpc_requests_total";
pub const DURATION: &str = "jiebang_rpc_duration_seconds";

/// Starts the scrape endpoint. The recorder is process-wide, so a second server in the same
/// process (tests) shares the first one's.
pub fn install(addr: SocketAddr) -> anyhow::Result<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            Matcher::Full(DURATION.into()),
            &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ],
        )?
        .install()?;
    let _ = INSTALLED.set(());
    tracing::info!(%addr, "serving Prometheus metrics");
    Ok(())
}

/// Every `interval`: the pool's connections in use and idle, the outbox's last sequence, the
/// open event streams and how far the slowest is behind (the backlog).
pub async fn sample(
    platform: Platform,
    streams: jiebang_events::OpenStreams,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let pool = platform.store.pool();
        let size = f64::from(pool.size());
        let idle = pool.num_idle() as f64;
        metrics::gauge!("jiebang_db_pool_connections", "state" => "in_use").set(size - idle);
        metrics::gauge!("jiebang_db_pool_connections", "state" => "idle").set(idle);
        if let Ok(row) = sqlx::query("SELECT COALESCE(MAX(sequence), 0) FROM events")
            .fetch_one(pool)
            .await
            && let Ok(latest) = row.try_get::<i64, _>(0)
        {
            metrics::gauge!("jiebang_events_latest_sequence").set(latest as f64);
            let (open, slowest) = streams.snapshot();
            metrics::gauge!("jiebang_event_streams_open").set(open as f64);
            let backlog = slowest.map_or(0, |cursor| (latest - cursor).max(0));
            metrics::gauge!("jiebang_events_backlog").set(backlog as f64);
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Counts and times every call by method and final gRPC status.
#[derive(Clone, Copy, Default)]
pub struct MetricsLayer;

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = Metered<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metered { inner }
    }
}

#[derive(Clone)]
pub struct Metered<S> {
    inner: S,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for Metered<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let call = Call {
            method: request.uri().path().to_owned(),
            started: Instant::now(),
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            // A call that fails before any message ("trailers-only") carries its status in
            // the headers; otherwise it comes in the trailers at the end of the body.
            let early = response.headers().get("grpc-status").map(code_name);
            let (parts, body) = response.into_parts();
            let call = match early {
                Some(code) => {
                    call.finish(&code);
                    None
                }
                None => Some(call),
            };
            Ok(http::Response::from_parts(
                parts,
                MeteredBody { inner: body, call },
            ))
        })
    }
}

struct Call {
    method: String,
    started: Instant,
}

impl Call {
    fn finish(self, code: &str) {
        let method = self.method;
        metrics::counter!(REQUESTS, "method" => method.clone(), "code" => code.to_owned())
            .increment(1);
        metrics::histogram!(DURATION, "method" => method)
            .record(self.started.elapsed().as_secs_f64());
    }
}

fn code_name(value: &http::HeaderValue) -> String {
    let number = value
        .to_str()
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(2);
    format!("{:?}", tonic::Code::from(number))
}

pin_project! {
    /// The response body, watched for the trailers that carry the call's status.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }

    impl<B> PinnedDrop for MeteredBody<B> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before its end: the client went away.
            if let Some(call) = this.project().call.take() {
                call.finish("Cancelled");
            }
        }
    }
}

impl<B: http_body::Body> http_body::Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(call) = this.call.take()
                {
                    let code = trailers
                        .get("grpc-status")
                        .map_or_else(|| "Unknown".to_owned(), code_name);
                    call.finish(&code);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(call) = this.call.take() {
                    call.finish("Internal");
                }
            }
            Poll::Ready(None) => {
                // gRPC always ends with trailers; a body ending without them is broken.
                if let Some(call) = this.call.take() {
                    call.finish("Unknown");
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
