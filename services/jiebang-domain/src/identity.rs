//! Organisations, users and roles (DOMAIN.md, "Roles").

use crate::{DomainError, Timestamp, Violations};
use serde::{Deserialize, Serialize};

/// The kind of an organisation; challenge eligibility rules refer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationType {
    Enterprise,
    University,
    Institute,
    Government,
    IndustryBody,
}

impl OrganizationType {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enterprise => "enterprise",
            Self::University => "university",
            Self::Institute => "institute",
            Self::Government => "government",
            Self::IndustryBody => "industry_body",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Enterprise,
            Self::University,
            Self::Institute,
            Self::Government,
            Self::IndustryBody,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

/// What a user may do. Team lead and panel chair are positions within one application or
/// panel, not roles of the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The science and technology bureau (科技局).
    Admin,
    /// An enterprise or industry body that publishes challenges (发榜方).
    Publisher,
    /// A member of a research team (揭榜方).
    TeamMember,
    /// A member of the expert pool (评审专家).
    Expert,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Publisher => "publisher",
            Self::TeamMember => "team_member",
            Self::Expert => "expert",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Admin, Self::Publisher, Self::TeamMember, Self::Expert]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// An organisation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub display_name: String,
    pub org_type: OrganizationType,
    /// GB/T 2260 administrative division code, e.g. "330100".
    pub region: String,
    pub unified_social_credit_code: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// A user as stored (the password hash stays in storage and never reaches the domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: String,
    pub email: String,
    pub phone: String,
    pub created_at: Timestamp,
}

/// The characters of a unified social credit code (GB 32100-2015): digits and capitals
/// without I, O, S, V, Z.
const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Validates an 18-character unified social credit code (统一社会信用代码) including its check
/// character, per GB 32100-2015.
pub fn validate_credit_code(code: &str) -> Result<(), &'static str> {
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return Err("must be exactly 18 characters");
    }
    let mut values = [0u32; 18];
    for (slot, byte) in values.iter_mut().zip(bytes) {
        let position = USCC_CHARSET
            .iter()
            .position(|c| c == byte)
            .ok_or("may contain only digits and capital letters other than I, O, S, V, Z")?;
        *slot = u32::try_from(position).unwrap_or(0);
    }
    if credit_code_check_value(&values[..17]) != values[17] {
        return Err("check character does not match (GB 32100-2015)");
    }
    Ok(())
}

fn credit_code_check_value(first17: &[u32]) -> u32 {
    let sum: u32 = first17.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

/// Completes 17 characters of a credit code with their check character (used for the
/// bootstrap organisation and by tests that need valid codes).
pub fn complete_credit_code(first17: &str) -> Option<String> {
    if first17.len() != 17 {
        return None;
    }
    let values: Option<Vec<u32>> = first17
        .bytes()
        .map(|b| {
            USCC_CHARSET
                .iter()
                .position(|c| *c == b)
                .and_then(|p| u32::try_from(p).ok())
        })
        .collect();
    let check = credit_code_check_value(&values?);
    Some(format!(
        "{first17}{}",
        char::from(USCC_CHARSET[check as usize])
    ))
}

/// A new organisation's fields, checked.
pub fn validate_new_organization(
    display_name: &str,
    org_type: Option<OrganizationType>,
    region: &str,
    credit_code: &str,
) -> Result<(), DomainError> {
    let mut v = Violations::new();
    check_display_name(&mut v, "display_name", display_name);
    v.require(org_type.is_some(), "type", "must be set");
    check_region(&mut v, "region", region);
    if let Err(why) = validate_credit_code(credit_code) {
        v.add("unified_social_credit_code", why);
    }
    v.into_result()
}

pub fn check_display_name(v: &mut Violations, field: &str, name: &str) {
    let length = name.trim().chars().count();
    v.require(
        (1..=200).contains(&length) && name.trim() == name,
        field,
        "must be 1–200 characters without surrounding spaces",
    );
}

/// Region codes are the 6-digit GB/T 2260 division codes.
pub fn check_region(v: &mut Violations, field: &str, region: &str) {
    v.require(
        region.len() == 6 && region.bytes().all(|b| b.is_ascii_digit()),
        field,
        "must be a 6-digit administrative division code (GB/T 2260), e.g. 330100",
    );
}

/// Login names: 3–32 of `[a-z0-9._-]`, starting with a letter or digit.
pub fn check_username(v: &mut Violations, field: &str, username: &str) {
    let ok = (3..=32).contains(&username.len())
        && username.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_' || b == b'-'
        })
        && username
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    v.require(
        ok,
        field,
        "must be 3–32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
    );
}

pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn check_password(v: &mut Violations, field: &str, password: &str) {
    let chars = password.chars().count();
    v.require(
        (MIN_PASSWORD_CHARS..=256).contains(&chars),
        field,
        format!("must be {MIN_PASSWORD_CHARS}–256 characters"),
    );
}

/// Minimal shape check for optional contact fields.
pub fn check_email(v: &mut Violations, field: &str, email: &str) {
    if !email.is_empty() {
        let ok = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        v.require(ok, field, "must be an e-mail address like name@example.cn");
    }
}

pub fn check_phone(v: &mut Violations, field: &str, phone: &str) {
    if !phone.is_empty() {
        let ok = (5..=20).contains(&phone.len())
            && phone
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'+' || b == b'-' || b == b' ');
        v.require(
            ok,
            field,
            "must be a phone number of digits, '+', '-' or spaces",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_credit_code_validates() {
        // A code as printed on a business licence.
        assert_eq!(validate_credit_code("91350100M000100Y43"), Ok(()));
    }

    #[test]
    fn a_wrong_check_character_is_refused() {
        assert!(validate_credit_code("91350100M000100Y44").is_err());
    }

    #[test]
    fn wrong_length_and_letters_are_refused() {
        assert!(validate_credit_code("91350100M000100Y4").is_err());
        assert!(validate_credit_code("91350100M000100YI3").is_err());
        assert!(validate_credit_code("91350100m000100Y43").is_err());
    }

    #[test]
    fn completing_a_code_yields_a_valid_one() {
        let code = complete_credit_code("11330100MB0000001").unwrap();
        assert_eq!(validate_credit_code(&code), Ok(()));
    }

    #[test]
    fn usernames_follow_the_pattern() {
        let check = |name: &str| {
            let mut v = Violations::new();
            check_username(&mut v, "username", name);
            v.is_empty()
        };
        assert!(check("zhang.san"));
        assert!(check("admin"));
        assert!(!check("ab"));
        assert!(!check("Zhang"));
        assert!(!check("-zhang"));
        assert!(!check("张三"));
    }
}
