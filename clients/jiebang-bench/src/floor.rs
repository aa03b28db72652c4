//! The database's share of a write, measured alone: the server's own storage calls for
//! sealing a score sheet or submitting an application — the reads that decide, the row
//! updates, the audit record and its chain's head, the outbox event, the idempotency record,
//! the commit — made straight from this process through the same `Store`, with the change
//! record built by the server's own `ChangeBuilder`, but no gRPC, no sign-in and no domain
//! checks in between.
//!
//! It is the most any server could make of these writes: a scenario that sends the same
//! statements cannot go faster than this does, so when this floor is below a target's share
//! of the one-row insert, the target cannot be met without writing less.

use crate::measure::{self, Outcome};
use crate::world::{Draft, Sheet, Team};
use anyhow::{Context, Result, bail};
use jiebang_domain::application::{ApplicationState, Pledge};
use jiebang_domain::audience::Audience;
use jiebang_domain::identity::Role;
use jiebang_domain::{Caller, Clock, SystemClock};
use jiebang_grpc::idempotency::Idempotency;
use jiebang_grpc::platform::{self, ChangeBuilder};
use jiebang_proto::v1 as pb;
use jiebang_storage::{Store, StoreError, StoreOptions, Tx, applications, review};
use std::future::Future;
use std::sync::Arc;

/// A request digest: the server's is a SHA-256 of the request, of this length.
fn digest() -> String {
    "d1".repeat(32)
}

fn caller(user: &str, role: Role) -> Caller {
    Caller {
        user_id: user.trim_start_matches("users/").to_owned(),
        username: String::new(),
        role,
        organization_id: String::new(),
    }
}

/// One score sheet to seal, by the ids the storage calls take.
struct ToSeal {
    expert: Caller,
    assignment_id: String,
    sheet_id: String,
    /// The assignment's resource name: the sheet's audit chain.
    assignment_name: String,
}

/// One draft application to submit.
struct ToSubmit {
    lead: Caller,
    challenge_id: String,
    id: String,
}

enum Work {
    Sheets(Vec<ToSeal>),
    Applications(Vec<ToSubmit>),
}

/// The writes, and a store on the server's database ready to make them.
pub struct Floor {
    store: Store,
    work: Arc<Work>,
}

async fn open_store(url: &str, pool: u32) -> Result<Store> {
    let mut options = StoreOptions::new(url);
    options.max_connections = pool;
    Store::open(&options)
        .await
        .context("open the server's database for a floor")
}

/// Retries a lost race as the server's `Platform::mutate` does.
async fn with_retries<F, Fut>(mut attempt: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(StoreError::Conflict) if tries + 1 < platform::MAX_ATTEMPTS => {
                tries += 1;
                tokio::time::sleep(platform::retry_backoff(tries)).await;
            }
            other => return other.map_err(|e| e.to_string()),
        }
    }
}

impl Floor {
    /// Sheets to seal. Untimed, each sheet gets the reads its write will make and one record
    /// appended to its chain through this store, as an expert opens an assignment before
    /// sealing it: the server knows the head of each chain it last appended to and does not
    /// read it again (it saved these drafts), and its SQLite writer has their pages in its
    /// cache; so has this store once it has done that.
    pub async fn sheets(
        url: &str,
        pool: u32,
        concurrency: usize,
        sheets: &[Sheet],
        expert_users: &[String],
    ) -> Result<Self> {
        let work = sheets
            .iter()
            .map(|s| {
                let (assignment_name, sheet_id) = s
                    .name
                    .split_once("/scoreSheets/")
                    .context("a score sheet's name")?;
                let assignment_id = assignment_name
                    .rsplit_once("/assignments/")
                    .context("an assignment's name")?
                    .1;
                let user = expert_users.get(s.expert).context("the sheet's expert")?;
                Ok(ToSeal {
                    expert: caller(user, Role::Expert),
                    assignment_id: assignment_id.to_owned(),
                    sheet_id: sheet_id.to_owned(),
                    assignment_name: assignment_name.to_owned(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::prepared(url, pool, concurrency, Work::Sheets(work)).await
    }

    /// Drafts to submit, prepared as [`Floor::sheets`] prepares sheets.
    pub async fn applications(
        url: &str,
        pool: u32,
        concurrency: usize,
        drafts: &[Draft],
        teams: &[Team],
    ) -> Result<Self> {
        let work = drafts
            .iter()
            .map(|d| {
                let (challenge_id, id) = d
                    .name
                    .strip_prefix("challenges/")
                    .and_then(|n| n.split_once("/applications/"))
                    .context("an application's name")?;
                let team = teams.get(d.team).context("the draft's team")?;
                Ok(ToSubmit {
                    lead: caller(&team.user, Role::TeamMember),
                    challenge_id: challenge_id.to_owned(),
                    id: id.to_owned(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::prepared(url, pool, concurrency, Work::Applications(work)).await
    }

    async fn prepared(url: &str, pool: u32, concurrency: usize, work: Work) -> Result<Self> {
        let floor = Self {
            store: open_store(url, pool).await?,
            work: Arc::new(work),
        };
        let opened = floor.each(concurrency, open_one).await;
        if !opened.failures.is_empty() {
            bail!("preparing a floor failed: {:?}", opened.failures);
        }
        Ok(floor)
    }

    /// Makes every write, `concurrency` at a time.
    pub async fn run(&self, concurrency: usize) -> Outcome {
        self.each(concurrency, write_one).await
    }

    async fn each<Fut>(&self, concurrency: usize, op: fn(Store, Arc<Work>, usize) -> Fut) -> Outcome
    where
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let (store, work) = (self.store.clone(), self.work.clone());
        let count = match &*work {
            Work::Sheets(s) => s.len(),
            Work::Applications(a) => a.len(),
        };
        measure::each(concurrency, (0..count).collect(), move |_, &i| {
            op(store.clone(), work.clone(), i)
        })
        .await
    }

    pub async fn close(self) {
        self.store.close().await;
    }
}

/// The untimed opening: the write's reads, and an audit record on its chain.
async fn open_one(store: Store, work: Arc<Work>, i: usize) -> Result<(), String> {
    with_retries(|| async {
        let mut tx = store.begin().await?;
        let (who, chain) = match &*work {
            Work::Sheets(sheets) => {
                let s = &sheets[i];
                review::sheet_to_seal(tx.conn(), &s.expert.user_id, &s.assignment_id, &s.sheet_id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("a floor sheet is not there".into()))?;
                (&s.expert, s.assignment_name.clone())
            }
            Work::Applications(drafts) => {
                let d = &drafts[i];
                let (a, _) =
                    applications::get_with_challenge_shared(&mut tx, &d.challenge_id, &d.id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("a floor draft is not there".into()))?;
                let orgs = a.content.organization_ids(&a.lead_organization_id);
                applications::lock_organizations(&mut tx, &orgs).await?;
                applications::standings(&mut tx, &a, &orgs, SystemClock.now()).await?;
                (&d.lead, a.name())
            }
        };
        let none = Idempotency::none(digest());
        let change = ChangeBuilder {
            at: SystemClock.now(),
            actor: who.actor(),
            action: "floor.opened",
            event_type: pb::EventType::Unspecified,
            resource: chain,
            chain: None,
            state: String::new(),
            summary: String::new(),
            audience: &[],
            idempotency: &none,
        }
        .build(&pb::Assignment::default());
        tx.finish(&change).await
    })
    .await
}

async fn write_one(store: Store, work: Arc<Work>, i: usize) -> Result<(), String> {
    let request_id = uuid::Uuid::new_v4().to_string();
    with_retries(|| async {
        let tx = store.begin().await?;
        match &*work {
            Work::Sheets(sheets) => seal(tx, &sheets[i], &request_id).await,
            Work::Applications(drafts) => submit(tx, &drafts[i], &request_id).await,
        }
    })
    .await
}

/// `SubmitScoreSheet`'s storage calls (jiebang-review's `scoring::submit_sheet`).
async fn seal(mut tx: Tx, s: &ToSeal, request_id: &str) -> Result<(), StoreError> {
    let found = review::sheet_to_seal(tx.conn(), &s.expert.user_id, &s.assignment_id, &s.sheet_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a floor sheet is not there".into()))?;
    let now = SystemClock.now();
    let mut next = found.sheet.clone();
    next.state = "SUBMITTED".into();
    next.seal_sha256 = Some("5e".repeat(32));
    next.submitted_at = Some(now);
    next.updated_at = now;
    next.version += 1;
    review::queue_sheet_update(&mut tx, &next, found.sheet.version)?;
    let mut sealed = found.assignment.clone();
    sealed.state = "SUBMITTED".into();
    sealed.version += 1;
    review::queue_assignment_update(&mut tx, &sealed, found.assignment.version);
    let response = jiebang_review::scoring::sheet_to_proto(&next);
    let idem = idempotency(
        &s.expert,
        request_id,
        "/jiebang.v1.ReviewService/SubmitScoreSheet",
    )?;
    let change = ChangeBuilder {
        at: now,
        actor: s.expert.actor(),
        action: "score_sheet.submitted",
        event_type: pb::EventType::ScoreSheetSubmitted,
        resource: response.name.clone(),
        chain: Some(s.assignment_name.clone()),
        state: String::new(),
        summary: String::new(),
        audience: &[Audience::User(s.expert.user_id.clone())],
        idempotency: &idem,
    }
    .build(&response);
    tx.finish(&change).await
}

/// `SubmitApplication`'s storage calls (jiebang-application's `service::submit`).
async fn submit(mut tx: Tx, d: &ToSubmit, request_id: &str) -> Result<(), StoreError> {
    let (current, _challenge) =
        applications::get_with_challenge_shared(&mut tx, &d.challenge_id, &d.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a floor draft is not there".into()))?;
    let orgs = current
        .content
        .organization_ids(&current.lead_organization_id);
    applications::lock_organizations(&mut tx, &orgs).await?;
    let now = SystemClock.now();
    applications::standings(&mut tx, &current, &orgs, now).await?;
    let mut next = current.clone();
    next.state = ApplicationState::Submitted;
    next.pledge = Some(Pledge {
        signer_id: d.lead.user_id.clone(),
        signed_at: now,
        text: "本团队承诺按期完成全部考核指标，如未达到，愿承担相应责任。".into(),
        signed_document: None,
        text_sha256: "7e".repeat(32),
    });
    next.submitted_at = Some(now);
    next.updated_at = now;
    next.version += 1;
    applications::queue_update_row(&mut tx, &next, current.version)?;
    let response = jiebang_application::convert::application_to_proto(&next);
    let idem = idempotency(
        &d.lead,
        request_id,
        "/jiebang.v1.ApplicationService/SubmitApplication",
    )?;
    let audience: Vec<Audience> = next
        .team_user_ids()
        .into_iter()
        .map(Audience::User)
        .collect();
    let change = ChangeBuilder {
        at: now,
        actor: d.lead.actor(),
        action: "application.submitted",
        event_type: pb::EventType::ApplicationSubmitted,
        resource: next.name(),
        chain: None,
        state: "APPLICATION_STATE_SUBMITTED".into(),
        summary: next.content.title.clone(),
        audience: &audience,
        idempotency: &idem,
    }
    .build(&response);
    tx.finish(&change).await
}

fn idempotency(
    caller: &Caller,
    request_id: &str,
    method: &'static str,
) -> Result<Idempotency, StoreError> {
    Idempotency::new(caller, request_id, method, digest())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}
