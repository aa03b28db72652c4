//! End to end: the real `jiebang-server` binary driven by the real `jiebang` CLI, as the bureau
//! and a publisher would use them, on SQLite and on PostgreSQL.

mod applications;
mod bench_smoke;
mod demo;
mod lifecycle;
mod metrics;
mod publication;
mod python_client;
mod replica_races;
mod replicas;
mod restart;
mod review;
mod rolling_restart;
mod server_process;
mod tracing;

/// Generates a SQLite and a PostgreSQL test for each `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(jiebang_e2e::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(jiebang_e2e::Backend::Postgres).await;
                }
            )*
        }
    };
}
