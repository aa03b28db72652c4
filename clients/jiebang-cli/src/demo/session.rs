//! The demo's connection and its people: one channel, a token per person (logged in when
//! first needed, again after the demo clock jumps past their tokens' lifetime), and the
//! clients each person calls through.

use crate::client::{Authed, Bearer};
use crate::errors::explain;
use anyhow::{Context, Result};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_client::ApplicationServiceClient;
use jiebang_proto::v1::audit_service_client::AuditServiceClient;
use jiebang_proto::v1::challenge_service_client::ChallengeServiceClient;
use jiebang_proto::v1::clock_service_client::ClockServiceClient;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use jiebang_proto::v1::milestone_service_client::MilestoneServiceClient;
use jiebang_proto::v1::review_service_client::ReviewServiceClient;
use std::collections::HashMap;
use std::sync::Mutex;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// Someone who signs in: the bureau's admin or one of the demo's people.
#[derive(Debug, Clone)]
pub struct Person {
    pub username: String,
    pub password: String,
    pub display_name: String,
    /// `users/{id}`.
    pub user: String,
    /// `organizations/{id}` and its display name.
    pub org: String,
    pub org_name: String,
}

/// Every service, called as one person.
pub struct Clients {
    pub identity: IdentityServiceClient<Authed>,
    pub challenges: ChallengeServiceClient<Authed>,
    pub applications: ApplicationServiceClient<Authed>,
    pub review: ReviewServiceClient<Authed>,
    pub milestones: MilestoneServiceClient<Authed>,
    pub audit: AuditServiceClient<Authed>,
    pub clock: ClockServiceClient<Authed>,
}

pub struct Session {
    pub server: String,
    channel: Channel,
    tokens: Mutex<HashMap<String, String>>,
}

impl Session {
    pub async fn connect(server: &str) -> Result<Self> {
        let channel = Endpoint::from_shared(server.to_owned())
            .with_context(|| format!("{server} is not a valid server URL"))?
            .connect_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "cannot reach the jiebang server at {server}: start it first \
                     (JIEBANG_DEMO_CLOCK=true cargo run -p jiebang-server), or pass --server"
                )
            })?;
        Ok(Self {
            server: server.to_owned(),
            channel,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// Signs `username` in, without keeping the token.
    pub async fn login(&self, username: &str, password: &str) -> Result<String, tonic::Status> {
        IdentityServiceClient::new(self.channel.clone())
            .login(pb::LoginRequest {
                username: username.into(),
                password: password.into(),
            })
            .await
            .map(|r| r.into_inner().access_token)
    }

    /// The clients of `who`, signing them in first if they hold no token.
    pub async fn as_(&self, who: &Person) -> Result<Clients> {
        let known = self
            .tokens
            .lock()
            .expect("token lock")
            .get(&who.username)
            .cloned();
        let token = match known {
            Some(token) => token,
            None => {
                let token = self
                    .login(&who.username, &who.password)
                    .await
                    .map_err(|status| {
                        self.failed(&format!("log in as {}", who.username), &status)
                    })?;
                self.tokens
                    .lock()
                    .expect("token lock")
                    .insert(who.username.clone(), token.clone());
                token
            }
        };
        let bearer = Bearer::token(&token)?;
        let authed = || InterceptedService::new(self.channel.clone(), bearer.clone());
        Ok(Clients {
            identity: IdentityServiceClient::new(authed()),
            challenges: ChallengeServiceClient::new(authed()),
            applications: ApplicationServiceClient::new(authed()),
            review: ReviewServiceClient::new(authed()),
            milestones: MilestoneServiceClient::new(authed()),
            audit: AuditServiceClient::new(authed()),
            clock: ClockServiceClient::new(authed()),
        })
    }

    /// Forgets every token: after the clock jumps months ahead they have expired.
    pub fn forget_tokens(&self) {
        self.tokens.lock().expect("token lock").clear();
    }

    /// A failed step, explained.
    pub fn failed(&self, what: &str, status: &tonic::Status) -> anyhow::Error {
        anyhow::anyhow!("{what}: {}", explain(status, &self.server))
    }
}

/// Turns a call's result into the message or an explained error naming the step.
pub trait Step<T> {
    fn step(self, session: &Session, what: &str) -> Result<T>;
}

impl<T> Step<T> for Result<tonic::Response<T>, tonic::Status> {
    fn step(self, session: &Session, what: &str) -> Result<T> {
        self.map(tonic::Response::into_inner)
            .map_err(|status| session.failed(what, &status))
    }
}
