//! `jiebang-server`: serves the platform until SIGTERM or ctrl-c, then drains.

use clap::Parser;
use jiebang_domain::{Clock, DemoClock, SystemClock};
use jiebang_identity::bootstrap::Bootstrap;
use jiebang_server::{Config, config::ENVIRONMENT_HELP};
use std::path::PathBuf;
use std::sync::Arc;

/// The jiebang (揭榜挂帅) gRPC server.
#[derive(Parser)]
#[command(version, after_help = ENVIRONMENT_HELP)]
struct Args {
    /// A TOML configuration file (env: JIEBANG_CONFIG).
    #[arg(long, env = "JIEBANG_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config::load(args.config.as_deref())?;
    let _telemetry = jiebang_server::telemetry::init(&config)?;
    let clock: Arc<dyn Clock> = if config.demo_clock {
        tracing::warn!(
            "JIEBANG_DEMO_CLOCK is on: the bureau can move this server's clock forward; \
             never run production like this"
        );
        Arc::new(DemoClock::new())
    } else {
        Arc::new(SystemClock)
    };
    let server = jiebang_server::start(&config, clock).await?;
    match &server.bootstrap {
        Bootstrap::CreatedWithGeneratedPassword(password) => {
            // Printed once, to the terminal only: never through the log pipeline.
            println!(
                "\nCreated the first account.\n  username: admin\n  password: {password}\n\
                 Keep it safe: it is shown only this once. Log in with\n  \
                 jiebang --server http://{} login admin\n",
                server.local_addr
            );
        }
        Bootstrap::Created => tracing::info!("created the first account `admin`"),
        Bootstrap::AlreadyDone => {}
    }
    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight calls");
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
