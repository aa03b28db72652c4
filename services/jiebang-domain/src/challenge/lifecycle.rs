//! The challenge lifecycle (DOMAIN.md, "Lifecycle"):
//!
//! DRAFT → PENDING_APPROVAL → (rejected: back to DRAFT) → APPROVED → PUBLISHED →
//! APPLICATIONS_CLOSED (by the clock) → UNDER_REVIEW → PUBLIC_NOTICE → AWARDED → IN_PROGRESS →
//! COMPLETED | FAILED; CANCELLED from any state before AWARDED.
//!
//! APPROVED is our one addition to DOMAIN.md's list: the bureau approves the content, then the
//! publisher (or the bureau) chooses the application window when publishing. Each transition is
//! a pure function from the current challenge to the next one; storage saves the result only if
//! nobody changed the challenge in between.

use super::access;
use super::spec::ChallengeSpec;
use crate::{Caller, DomainError, Timestamp, Violations};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeState {
    Draft,
    PendingApproval,
    Approved,
    Published,
    ApplicationsClosed,
    UnderReview,
    PublicNotice,
    Awarded,
    InProgress,
    Completed,
    Failed,
    Cancelled,
}

impl ChallengeState {
    pub const ALL: [Self; 12] = [
        Self::Draft,
        Self::PendingApproval,
        Self::Approved,
        Self::Published,
        Self::ApplicationsClosed,
        Self::UnderReview,
        Self::PublicNotice,
        Self::Awarded,
        Self::InProgress,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The stored spelling, also the suffix of the proto enum value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::PendingApproval => "PENDING_APPROVAL",
            Self::Approved => "APPROVED",
            Self::Published => "PUBLISHED",
            Self::ApplicationsClosed => "APPLICATIONS_CLOSED",
            Self::UnderReview => "UNDER_REVIEW",
            Self::PublicNotice => "PUBLIC_NOTICE",
            Self::Awarded => "AWARDED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Cancellation is possible from any state before AWARDED (DOMAIN.md).
    pub const fn is_cancellable(self) -> bool {
        matches!(
            self,
            Self::Draft
                | Self::PendingApproval
                | Self::Approved
                | Self::Published
                | Self::ApplicationsClosed
                | Self::UnderReview
                | Self::PublicNotice
        )
    }
}

/// Why a challenge was cancelled (DOMAIN.md: "with a typed reason").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancellationReason {
    NoEligibleApplications,
    NoneAboveThreshold,
    WithdrawnByPublisher,
    PolicyChange,
    Other,
}

impl CancellationReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoEligibleApplications => "NO_ELIGIBLE_APPLICATIONS",
            Self::NoneAboveThreshold => "NONE_ABOVE_THRESHOLD",
            Self::WithdrawnByPublisher => "WITHDRAWN_BY_PUBLISHER",
            Self::PolicyChange => "POLICY_CHANGE",
            Self::Other => "OTHER",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::NoEligibleApplications,
            Self::NoneAboveThreshold,
            Self::WithdrawnByPublisher,
            Self::PolicyChange,
            Self::Other,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// Deployment settings that bound an application window.
#[derive(Debug, Clone, Copy)]
pub struct PublicationLimits {
    /// The shortest window a challenge may be published with.
    pub min_window: Duration,
    /// How far in the past an explicit opening time may lie (clock skew between client and
    /// server); an unset opening time means "now".
    pub open_time_tolerance: Duration,
}

impl Default for PublicationLimits {
    fn default() -> Self {
        Self {
            min_window: Duration::from_secs(24 * 3600),
            open_time_tolerance: Duration::from_secs(60),
        }
    }
}

/// A challenge as stored: the publisher's spec plus its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub id: String,
    pub publisher_id: String,
    pub state: ChallengeState,
    pub spec: ChallengeSpec,
    pub open_at: Option<Timestamp>,
    pub close_at: Option<Timestamp>,
    pub rejection_reason: Option<String>,
    pub cancellation: Option<(CancellationReason, String)>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Optimistic-concurrency version; the etag clients see.
    pub version: i64,
}

impl Challenge {
    /// Who hears about a change: everyone once the challenge is public, before that only its
    /// publisher (and the bureau, which sees everything).
    pub fn audience(&self) -> Vec<crate::audience::Audience> {
        use crate::audience::Audience;
        if self.open_at.is_some() {
            vec![Audience::Public]
        } else {
            vec![Audience::Organization(self.publisher_id.clone())]
        }
    }

    /// A new DRAFT written by a publisher.
    pub fn draft(
        caller: &Caller,
        id: String,
        spec: ChallengeSpec,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        access::ensure_can_create(caller)?;
        spec.validate()?;
        Ok(Self {
            id,
            publisher_id: caller.organization_id.clone(),
            state: ChallengeState::Draft,
            spec,
            open_at: None,
            close_at: None,
            rejection_reason: None,
            cancellation: None,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    pub fn name(&self) -> String {
        crate::ids::Collection::Challenges.name(&self.id)
    }

    pub fn etag(&self) -> String {
        self.version.to_string()
    }

    /// The state as of `now`: a PUBLISHED challenge whose deadline has passed is
    /// APPLICATIONS_CLOSED even before the background job has recorded it, so the deadline is
    /// exact whatever the job's timing.
    pub fn state_at(&self, now: Timestamp) -> ChallengeState {
        match (self.state, self.close_at) {
            (ChallengeState::Published, Some(close)) if now >= close => {
                ChallengeState::ApplicationsClosed
            }
            (state, _) => state,
        }
    }

    /// Whether applications may be submitted at `now`: published, opened, not yet closed.
    pub fn is_open_for_applications(&self, now: Timestamp) -> bool {
        self.state_at(now) == ChallengeState::Published
            && self.open_at.is_some_and(|open| now >= open)
    }

    /// Refuses with ABORTED when the caller's etag is stale. An empty etag skips the check.
    pub fn check_etag(&self, etag: &str) -> Result<(), DomainError> {
        if etag.is_empty() || etag == self.etag() {
            Ok(())
        } else {
            Err(DomainError::stale_etag(&self.name()))
        }
    }

    fn next(&self, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.updated_at = now;
        next.version += 1;
        next
    }

    fn expect_state(&self, allowed: &[ChallengeState], action: &str) -> Result<(), DomainError> {
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(DomainError::precondition(
                "CHALLENGE_WRONG_STATE",
                format!(
                    "cannot {action} {} while it is {}",
                    self.name(),
                    self.state.as_str()
                ),
            ))
        }
    }

    /// Replaces the spec of a DRAFT (the caller already merged the field mask).
    pub fn update(
        &self,
        caller: &Caller,
        spec: ChallengeSpec,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        access::ensure_is_publisher_of(caller, self)?;
        self.expect_state(&[ChallengeState::Draft], "update")?;
        spec.validate()?;
        let mut next = self.next(now);
        next.spec = spec;
        Ok(next)
    }

    /// DRAFT → PENDING_APPROVAL.
    pub fn submit(&self, caller: &Caller, now: Timestamp) -> Result<Self, DomainError> {
        access::ensure_is_publisher_of(caller, self)?;
        self.expect_state(&[ChallengeState::Draft], "submit")?;
        // Drafts are validated on every write, but rules may have tightened since.
        self.spec.validate()?;
        let mut next = self.next(now);
        next.state = ChallengeState::PendingApproval;
        Ok(next)
    }

    /// PENDING_APPROVAL → APPROVED, by the bureau.
    pub fn approve(&self, caller: &Caller, now: Timestamp) -> Result<Self, DomainError> {
        access::ensure_admin(caller, "approve challenges")?;
        self.expect_state(&[ChallengeState::PendingApproval], "approve")?;
        let mut next = self.next(now);
        next.state = ChallengeState::Approved;
        next.rejection_reason = None;
        Ok(next)
    }

    /// PENDING_APPROVAL → DRAFT with the reason, by the bureau.
    pub fn reject(
        &self,
        caller: &Caller,
        reason: &str,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        access::ensure_admin(caller, "reject challenges")?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(DomainError::invalid(
                "reason",
                "a rejection needs a reason of 1–2000 characters",
            ));
        }
        self.expect_state(&[ChallengeState::PendingApproval], "reject")?;
        let mut next = self.next(now);
        next.state = ChallengeState::Draft;
        next.rejection_reason = Some(reason.to_owned());
        Ok(next)
    }

    /// APPROVED → PUBLISHED with the application window [open, close).
    pub fn publish(
        &self,
        caller: &Caller,
        open: Option<Timestamp>,
        close: Option<Timestamp>,
        limits: PublicationLimits,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        access::ensure_publisher_or_admin(caller, self)?;
        let open = open.unwrap_or(now);
        let mut v = Violations::new();
        v.require(
            open.plus(limits.open_time_tolerance) >= now,
            "application_open_time",
            "must not be in the past",
        );
        match close {
            None => v.add("application_close_time", "must be set"),
            Some(close) => {
                v.require(
                    close > now,
                    "application_close_time",
                    "must be in the future",
                );
                v.require(
                    close > open && close.since(open) >= limits.min_window,
                    "application_close_time",
                    format!(
                        "the window must be at least {} long",
                        humanize(limits.min_window)
                    ),
                );
            }
        }
        v.into_result()?;
        self.expect_state(&[ChallengeState::Approved], "publish")?;
        let mut next = self.next(now);
        next.state = ChallengeState::Published;
        next.open_at = Some(open);
        next.close_at = close;
        Ok(next)
    }

    /// Any state before AWARDED → CANCELLED. The bureau may cancel any time before the award;
    /// a publisher only its own challenge, and only before it is published (afterwards teams
    /// rely on it, so the bureau decides).
    pub fn cancel(
        &self,
        caller: &Caller,
        reason: Option<CancellationReason>,
        note: &str,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let mut v = Violations::new();
        v.require(reason.is_some(), "reason", "must be set");
        v.require(
            reason != Some(CancellationReason::Other) || !note.trim().is_empty(),
            "note",
            "is required when the reason is OTHER",
        );
        v.require(
            note.chars().count() <= 2000,
            "note",
            "must be at most 2000 characters",
        );
        if !caller.is_admin() {
            access::ensure_is_publisher_of(caller, self)?;
        }
        v.into_result()?;
        if !caller.is_admin() && self.open_at.is_some() {
            return Err(DomainError::denied(
                "PUBLISHED_CHALLENGE_CANCELLED_BY_BUREAU",
                "a published challenge can only be cancelled by the bureau",
            ));
        }
        let state = self.state_at(now);
        if !state.is_cancellable() {
            return Err(DomainError::precondition(
                "CHALLENGE_WRONG_STATE",
                format!(
                    "cannot cancel {} while it is {}",
                    self.name(),
                    state.as_str()
                ),
            ));
        }
        let mut next = self.next(now);
        next.state = ChallengeState::Cancelled;
        next.cancellation = reason.map(|r| (r, note.trim().to_owned()));
        Ok(next)
    }

    /// APPLICATIONS_CLOSED → UNDER_REVIEW when the experts are first assigned (bureau only).
    pub fn start_review(&self, caller: &Caller, now: Timestamp) -> Result<Self, DomainError> {
        access::ensure_admin(caller, "start the review")?;
        if self.state_at(now) != ChallengeState::ApplicationsClosed {
            return Err(DomainError::precondition(
                "CHALLENGE_WRONG_STATE",
                format!(
                    "the review of {} starts after the application deadline; it is {}",
                    self.name(),
                    self.state_at(now).as_str()
                ),
            ));
        }
        let mut next = self.next(now);
        next.state = ChallengeState::UnderReview;
        Ok(next)
    }

    /// A transition of the review (UNDER_REVIEW → PUBLIC_NOTICE → AWARDED, or back to
    /// UNDER_REVIEW when an upheld objection reopens the review). Who may make it is the
    /// review service's rule (chair or bureau); the state order is checked here.
    pub fn review_step(
        &self,
        from: ChallengeState,
        to: ChallengeState,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        if self.state != from {
            return Err(DomainError::precondition(
                "CHALLENGE_WRONG_STATE",
                format!(
                    "{} is {}, not {}",
                    self.name(),
                    self.state.as_str(),
                    from.as_str()
                ),
            ));
        }
        let mut next = self.next(now);
        next.state = to;
        Ok(next)
    }

    /// PUBLISHED → APPLICATIONS_CLOSED once the deadline has passed; `None` if not due.
    pub fn close_if_due(&self, now: Timestamp) -> Option<Self> {
        (self.state == ChallengeState::Published
            && self.state_at(now) == ChallengeState::ApplicationsClosed)
            .then(|| {
                let mut next = self.next(now);
                next.state = ChallengeState::ApplicationsClosed;
                next
            })
    }
}

fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(86_400) && secs > 0 {
        format!("{} day(s)", secs / 86_400)
    } else if secs.is_multiple_of(3_600) && secs > 0 {
        format!("{} hour(s)", secs / 3_600)
    } else {
        format!("{secs} second(s)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::spec::tests::porcelain_insulator_spec;
    use crate::identity::Role;

    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);

    fn person(role: Role, org: &str) -> Caller {
        Caller {
            user_id: format!("{}-user", role.as_str()),
            username: role.as_str().into(),
            role,
            organization_id: org.into(),
        }
    }

    fn publisher() -> Caller {
        person(Role::Publisher, "porcelain-co")
    }

    fn admin() -> Caller {
        person(Role::Admin, "bureau")
    }

    fn t0() -> Timestamp {
        Timestamp(1_790_000_000_000_000)
    }

    fn draft() -> Challenge {
        Challenge::draft(&publisher(), "c1".into(), porcelain_insulator_spec(), t0()).unwrap()
    }

    fn approved() -> Challenge {
        draft()
            .submit(&publisher(), t0())
            .unwrap()
            .approve(&admin(), t0())
            .unwrap()
    }

    fn reason_of(err: DomainError) -> &'static str {
        match err {
            DomainError::FailedPrecondition { reason, .. }
            | DomainError::PermissionDenied { reason, .. }
            | DomainError::Aborted { reason, .. } => reason,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn only_publishers_draft_challenges_for_their_own_organisation() {
        let c = draft();
        assert_eq!(c.state, ChallengeState::Draft);
        assert_eq!(c.publisher_id, "porcelain-co");
        for role in [Role::Admin, Role::TeamMember, Role::Expert] {
            let err = Challenge::draft(
                &person(role, "x"),
                "c".into(),
                porcelain_insulator_spec(),
                t0(),
            )
            .unwrap_err();
            assert!(
                matches!(err, DomainError::PermissionDenied { .. }),
                "{role:?}"
            );
        }
    }

    #[test]
    fn the_full_path_to_publication_and_the_automatic_close() {
        let open = t0();
        let close = t0().plus(30 * DAY);
        let published = approved()
            .publish(
                &publisher(),
                None,
                Some(close),
                PublicationLimits::default(),
                open,
            )
            .unwrap();
        assert_eq!(published.state, ChallengeState::Published);
        assert!(!published.is_open_for_applications(close));
        let one_micro_before = Timestamp(close.micros() - 1);
        assert!(published.is_open_for_applications(one_micro_before));
        assert!(published.close_if_due(one_micro_before).is_none());
        let closed = published.close_if_due(close).unwrap();
        assert_eq!(closed.state, ChallengeState::ApplicationsClosed);
        assert_eq!(closed.version, published.version + 1);
    }

    #[test]
    fn a_rejected_challenge_goes_back_to_draft_with_its_reason() {
        let pending = draft().submit(&publisher(), t0()).unwrap();
        let rejected = pending.reject(&admin(), "预算依据不足", t0()).unwrap();
        assert_eq!(rejected.state, ChallengeState::Draft);
        assert_eq!(rejected.rejection_reason.as_deref(), Some("预算依据不足"));
        assert!(matches!(
            pending.reject(&admin(), "  ", t0()),
            Err(DomainError::InvalidArgument(_))
        ));
    }

    #[test]
    fn wrong_state_transitions_are_failed_preconditions() {
        let d = draft();
        assert_eq!(
            reason_of(d.approve(&admin(), t0()).unwrap_err()),
            "CHALLENGE_WRONG_STATE"
        );
        let a = approved();
        assert_eq!(
            reason_of(a.submit(&publisher(), t0()).unwrap_err()),
            "CHALLENGE_WRONG_STATE"
        );
        assert_eq!(
            reason_of(a.update(&publisher(), a.spec.clone(), t0()).unwrap_err()),
            "CHALLENGE_WRONG_STATE"
        );
        let cancelled = a
            .cancel(&admin(), Some(CancellationReason::PolicyChange), "", t0())
            .unwrap();
        assert_eq!(
            reason_of(
                cancelled
                    .cancel(&admin(), Some(CancellationReason::PolicyChange), "", t0())
                    .unwrap_err()
            ),
            "CHALLENGE_WRONG_STATE"
        );
    }

    #[test]
    fn only_the_bureau_approves() {
        let pending = draft().submit(&publisher(), t0()).unwrap();
        assert!(matches!(
            pending.approve(&publisher(), t0()),
            Err(DomainError::PermissionDenied { .. })
        ));
    }

    #[test]
    fn another_organisations_publisher_cannot_touch_a_draft() {
        let other = person(Role::Publisher, "compressor-co");
        assert!(matches!(
            draft().submit(&other, t0()),
            Err(DomainError::PermissionDenied { .. })
        ));
    }

    #[test]
    fn the_window_must_be_in_the_future_and_long_enough() {
        let a = approved();
        let limits = PublicationLimits::default();
        let too_short = a.publish(&publisher(), None, Some(t0().plus(HOUR)), limits, t0());
        assert!(
            matches!(too_short, Err(DomainError::InvalidArgument(ref v)) if v[0].field == "application_close_time")
        );
        let past_open = a.publish(
            &publisher(),
            Some(Timestamp(t0().micros() - 3_600_000_000)),
            Some(t0().plus(10 * DAY)),
            limits,
            t0(),
        );
        assert!(
            matches!(past_open, Err(DomainError::InvalidArgument(ref v)) if v[0].field == "application_open_time")
        );
        let missing = a.publish(&publisher(), None, None, limits, t0());
        assert!(matches!(missing, Err(DomainError::InvalidArgument(_))));
    }

    #[test]
    fn publishers_cannot_cancel_after_publication_but_the_bureau_can() {
        let published = approved()
            .publish(
                &publisher(),
                None,
                Some(t0().plus(10 * DAY)),
                PublicationLimits::default(),
                t0(),
            )
            .unwrap();
        let by_publisher = published.cancel(
            &publisher(),
            Some(CancellationReason::WithdrawnByPublisher),
            "",
            t0(),
        );
        assert!(matches!(
            by_publisher,
            Err(DomainError::PermissionDenied { .. })
        ));
        let by_bureau = published
            .cancel(&admin(), Some(CancellationReason::Other), "政策调整", t0())
            .unwrap();
        assert_eq!(by_bureau.state, ChallengeState::Cancelled);
    }

    #[test]
    fn other_as_a_cancellation_reason_needs_a_note() {
        let err = draft()
            .cancel(&publisher(), Some(CancellationReason::Other), " ", t0())
            .unwrap_err();
        assert!(matches!(err, DomainError::InvalidArgument(ref v) if v[0].field == "note"));
    }

    #[test]
    fn a_stale_etag_is_aborted() {
        let d = draft();
        assert!(d.check_etag("").is_ok());
        assert!(d.check_etag(&d.etag()).is_ok());
        assert_eq!(reason_of(d.check_etag("0").unwrap_err()), "ETAG_MISMATCH");
    }
}
