//! One module per command family.

pub mod application;
pub mod audit;
pub mod auth;
pub mod challenge;
pub mod clock;
pub mod document;
pub mod events;
pub mod identity;
pub mod project;
pub mod review;

use crate::client::Connection;
use crate::errors::explain;
use crate::views::Output;
use serde::Serialize;

pub struct Context {
    pub server: String,
    pub output: Output,
}

impl Context {
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        Connection::open(&self.server).await
    }

    /// Turns a failed call into an explained error.
    pub fn fail(&self, status: tonic::Status) -> anyhow::Error {
        explain(&status, &self.server).into()
    }

    /// Prints a JSON view, or the table.
    pub fn print<V: Serialize>(
        &self,
        view: &V,
        table: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        match self.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(view)?),
            Output::Table => println!("{}", table()),
        }
        Ok(())
    }
}

/// Accepts `challenges/abc` or just `abc`.
pub fn resource_name(collection: &str, text: &str) -> String {
    if text.contains('/') {
        text.to_owned()
    } else {
        format!("{collection}/{text}")
    }
}

/// A fresh idempotency key, so a retry of the same command invocation is safe.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
