//! The application lifecycle (DOMAIN.md, "Lifecycle"): DRAFT → SUBMITTED (only before the
//! deadline, pledge signed, eligible) → ELIGIBLE | INELIGIBLE (formal check, after the
//! deadline); WITHDRAWN from DRAFT or SUBMITTED before the deadline. Later states
//! (UNDER_REVIEW … APPOINTED) belong to the review.

use super::access;
use super::content::ApplicationContent;
use super::eligibility::{EligibilityFacts, IneligibilityReason, check};
use crate::challenge::Challenge;
use crate::{Caller, DomainError, Timestamp, Violations};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationState {
    Draft,
    Submitted,
    Eligible,
    Ineligible,
    UnderReview,
    Shortlisted,
    NotSelected,
    ProposedWinner,
    Appointed,
    Withdrawn,
}

impl ApplicationState {
    pub const ALL: [Self; 10] = [
        Self::Draft,
        Self::Submitted,
        Self::Eligible,
        Self::Ineligible,
        Self::UnderReview,
        Self::Shortlisted,
        Self::NotSelected,
        Self::ProposedWinner,
        Self::Appointed,
        Self::Withdrawn,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Submitted => "SUBMITTED",
            Self::Eligible => "ELIGIBLE",
            Self::Ineligible => "INELIGIBLE",
            Self::UnderReview => "UNDER_REVIEW",
            Self::Shortlisted => "SHORTLISTED",
            Self::NotSelected => "NOT_SELECTED",
            Self::ProposedWinner => "PROPOSED_WINNER",
            Self::Appointed => "APPOINTED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Counted against per-round limits and the one-application-per-challenge rule: every
    /// state from submission on, except withdrawn.
    pub const fn is_active_submission(self) -> bool {
        !matches!(self, Self::Draft | Self::Withdrawn)
    }
}

/// The signed responsibility pledge (军令状).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pledge {
    pub signer_id: String,
    pub signed_at: Timestamp,
    pub text: String,
    /// Optional scan of the signed paper, by SHA-256.
    pub signed_document: Option<String>,
    /// Hex SHA-256 of `text`, computed by the caller (storage of the digest is the audit's).
    pub text_sha256: String,
}

/// The formal eligibility check (形式审查) as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormalCheck {
    pub eligible: bool,
    pub reasons: Vec<IneligibilityReason>,
    pub checker_id: String,
    pub checked_at: Timestamp,
}

/// An application as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub challenge_id: String,
    /// The challenge's round, copied so per-round limits are one query.
    pub round: String,
    pub state: ApplicationState,
    pub lead_organization_id: String,
    pub creator_id: String,
    pub content: ApplicationContent,
    pub pledge: Option<Pledge>,
    pub formal_check: Option<FormalCheck>,
    pub withdrawal_reason: Option<String>,
    pub submitted_at: Option<Timestamp>,
    pub withdrawn_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Application {
    /// A new DRAFT for an open challenge, led by the caller's organisation.
    pub fn draft(
        caller: &Caller,
        id: String,
        challenge: &Challenge,
        content: ApplicationContent,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        access::ensure_can_apply(caller)?;
        ensure_open(challenge, now)?;
        content.validate(&caller.organization_id)?;
        Ok(Self {
            id,
            challenge_id: challenge.id.clone(),
            round: challenge.spec.round.clone(),
            state: ApplicationState::Draft,
            lead_organization_id: caller.organization_id.clone(),
            creator_id: caller.user_id.clone(),
            content,
            pledge: None,
            formal_check: None,
            withdrawal_reason: None,
            submitted_at: None,
            withdrawn_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    pub fn name(&self) -> String {
        format!("challenges/{}/applications/{}", self.challenge_id, self.id)
    }

    pub fn etag(&self) -> String {
        self.version.to_string()
    }

    pub fn check_etag(&self, etag: &str) -> Result<(), DomainError> {
        if etag.is_empty() || etag == self.etag() {
            Ok(())
        } else {
            Err(DomainError::stale_etag(&self.name()))
        }
    }

    /// Everyone who is "the team": the creator, the lead person and members with accounts.
    pub fn team_user_ids(&self) -> Vec<String> {
        let mut ids = self.content.team_user_ids();
        if !ids.contains(&self.creator_id) {
            ids.push(self.creator_id.clone());
        }
        ids
    }

    fn next(&self, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.updated_at = now;
        next.version += 1;
        next
    }

    fn expect_state(&self, allowed: &[ApplicationState], action: &str) -> Result<(), DomainError> {
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(DomainError::precondition(
                "APPLICATION_WRONG_STATE",
                format!(
                    "cannot {action} {} while it is {}",
                    self.name(),
                    self.state.as_str()
                ),
            ))
        }
    }

    /// Replaces the content of a DRAFT (the caller merged the field mask).
    pub fn update(
        &self,
        caller: &Caller,
        content: ApplicationContent,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        access::ensure_can_edit(caller, self)?;
        self.expect_state(&[ApplicationState::Draft], "update")?;
        content.validate(&self.lead_organization_id)?;
        let mut next = self.next(now);
        next.content = content;
        Ok(next)
    }

    /// DRAFT → SUBMITTED with the pledge, if the challenge is still open at `now` and the
    /// application passes every eligibility rule. `now` is taken inside the committing
    /// transaction, after its locks, so the deadline compares against the commit instant.
    pub fn submit(
        &self,
        caller: &Caller,
        challenge: &Challenge,
        pledge: Pledge,
        facts: &EligibilityFacts,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        access::ensure_is_lead_person(caller, self)?;
        self.expect_state(&[ApplicationState::Draft], "submit")?;
        let mut v = Violations::new();
        v.require(
            pledge.signer_id == caller.user_id,
            "pledge.signer",
            "must be you, the lead person",
        );
        // A minute of tolerance for the signer's clock running ahead of the server's.
        v.require(
            pledge.signed_at <= now.plus(std::time::Duration::from_secs(60))
                && pledge.signed_at.plus(std::time::Duration::from_secs(60)) >= self.created_at,
            "pledge.sign_time",
            "must lie between the application's creation and now",
        );
        let chars = pledge.text.trim().chars().count();
        v.require(
            (10..=10_000).contains(&chars),
            "pledge.text",
            "the pledge text must be 10–10,000 characters",
        );
        v.into_result()?;
        ensure_open(challenge, now)?;
        let reasons = check(&challenge.spec, &self.content, facts);
        if !reasons.is_empty() {
            return Err(DomainError::Ineligible(reasons));
        }
        let mut next = self.next(now);
        next.state = ApplicationState::Submitted;
        next.pledge = Some(pledge);
        next.submitted_at = Some(now);
        Ok(next)
    }

    /// DRAFT or SUBMITTED → WITHDRAWN, before the deadline. It stays on record.
    pub fn withdraw(
        &self,
        caller: &Caller,
        challenge: &Challenge,
        reason: &str,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        access::ensure_can_edit(caller, self)?;
        if reason.chars().count() > 2000 {
            return Err(DomainError::invalid(
                "reason",
                "must be at most 2000 characters",
            ));
        }
        self.expect_state(
            &[ApplicationState::Draft, ApplicationState::Submitted],
            "withdraw",
        )?;
        if challenge.close_at.is_some_and(|close| now >= close) {
            return Err(DomainError::precondition(
                "DEADLINE_PASSED",
                format!(
                    "the deadline of {} has passed; applications can no longer be withdrawn",
                    challenge.name()
                ),
            ));
        }
        let mut next = self.next(now);
        next.state = ApplicationState::Withdrawn;
        next.withdrawal_reason = (!reason.trim().is_empty()).then(|| reason.trim().to_owned());
        next.withdrawn_at = Some(now);
        Ok(next)
    }

    /// SUBMITTED → ELIGIBLE or INELIGIBLE (with reasons), by the bureau after the deadline.
    pub fn record_formal_check(
        &self,
        caller: &Caller,
        challenge: &Challenge,
        eligible: Option<bool>,
        reasons: Vec<IneligibilityReason>,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        crate::challenge::access::ensure_admin(caller, "record the formal check")?;
        let mut v = Violations::new();
        match eligible {
            None => v.add("outcome", "must be ELIGIBLE or INELIGIBLE"),
            Some(true) => v.require(reasons.is_empty(), "reasons", "must be empty when ELIGIBLE"),
            Some(false) => v.require(
                !reasons.is_empty(),
                "reasons",
                "at least one reason is required when INELIGIBLE",
            ),
        }
        for (i, r) in reasons.iter().enumerate() {
            let chars = r.detail.trim().chars().count();
            v.require(
                (1..=2000).contains(&chars),
                format!("reasons[{i}].detail"),
                "must be 1–2000 characters",
            );
        }
        v.into_result()?;
        self.expect_state(&[ApplicationState::Submitted], "record the formal check of")?;
        if challenge.close_at.is_none_or(|close| now < close) {
            return Err(DomainError::precondition(
                "DEADLINE_NOT_PASSED",
                "the formal check is recorded after the application deadline",
            ));
        }
        let eligible = eligible.unwrap_or(false);
        let mut next = self.next(now);
        next.state = if eligible {
            ApplicationState::Eligible
        } else {
            ApplicationState::Ineligible
        };
        next.formal_check = Some(FormalCheck {
            eligible,
            reasons,
            checker_id: caller.user_id.clone(),
            checked_at: now,
        });
        Ok(next)
    }
}

impl Application {
    /// A step of the review's outcome (shortlisting, proposal, appointment, an upheld
    /// objection, a reopened review), allowed only from the states listed.
    pub fn review_step(
        &self,
        from: &[ApplicationState],
        to: ApplicationState,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        self.expect_state(from, &format!("move to {}", to.as_str()))?;
        let mut next = self.next(now);
        next.state = to;
        Ok(next)
    }

    /// ELIGIBLE → UNDER_REVIEW when the application's experts are assigned.
    pub fn start_review(&self, now: Timestamp) -> Result<Self, DomainError> {
        self.expect_state(&[ApplicationState::Eligible], "review")?;
        let mut next = self.next(now);
        next.state = ApplicationState::UnderReview;
        Ok(next)
    }
}

/// Applications are taken only while the challenge is PUBLISHED and its window open.
fn ensure_open(challenge: &Challenge, now: Timestamp) -> Result<(), DomainError> {
    if challenge.is_open_for_applications(now) {
        return Ok(());
    }
    if challenge.close_at.is_some_and(|close| now >= close) {
        Err(DomainError::precondition(
            "DEADLINE_PASSED",
            format!(
                "the application deadline of {} has passed",
                challenge.name()
            ),
        ))
    } else {
        Err(DomainError::precondition(
            "CHALLENGE_NOT_OPEN",
            format!("{} is not open for applications", challenge.name()),
        ))
    }
}
