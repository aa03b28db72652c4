//! Page sizes and page tokens for keyset pagination.
//!
//! A token is opaque to clients: base64 of the last id returned and a fingerprint of the
//! filters, so a token reused with other filters is refused instead of silently skipping rows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiebang_domain::DomainError;
use sha2::{Digest, Sha256};

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;

/// 0 means the default; negative is refused; above the maximum is capped (AIP-158).
pub fn page_size(requested: i32, default: i64, max: i64) -> Result<i64, DomainError> {
    match requested {
        n if n < 0 => Err(DomainError::invalid("page_size", "must not be negative")),
        0 => Ok(default),
        n => Ok(i64::from(n).min(max)),
    }
}

fn fingerprint(filters: &str) -> String {
    hex::encode(&Sha256::digest(filters.as_bytes())[..6])
}

/// A token resuming after `last_key`, bound to `filters`.
pub fn encode_token(last_key: &str, filters: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{last_key}", fingerprint(filters)))
}

/// The key to resume after, or `None` for the first page.
pub fn decode_token(token: &str, filters: &str) -> Result<Option<String>, DomainError> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        DomainError::invalid(
            "page_token",
            "is not a token from a previous page of this listing",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (print, key) = text.split_once(':').ok_or_else(invalid)?;
    if print != fingerprint(filters) || key.is_empty() {
        return Err(invalid());
    }
    Ok(Some(key.to_owned()))
}

/// Fetches one more row than the page holds to learn whether another page exists; this
/// trims it and returns the next token.
pub fn finish_page<T>(
    mut rows: Vec<T>,
    size: i64,
    filters: &str,
    key_of: impl Fn(&T) -> String,
) -> (Vec<T>, String) {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if rows.len() > size {
        rows.truncate(size);
        let token = rows
            .last()
            .map(|r| encode_token(&key_of(r), filters))
            .unwrap_or_default();
        (rows, token)
    } else {
        (rows, String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_with_the_same_filters_only() {
        let token = encode_token("abc123", "state=PUBLISHED");
        assert_eq!(
            decode_token(&token, "state=PUBLISHED").unwrap().as_deref(),
            Some("abc123")
        );
        assert!(decode_token(&token, "state=DRAFT").is_err());
        assert!(decode_token("not a token", "").is_err());
        assert_eq!(decode_token("", "x").unwrap(), None);
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(0, 20, 100).unwrap(), 20);
        assert_eq!(page_size(500, 20, 100).unwrap(), 100);
        assert!(page_size(-1, 20, 100).is_err());
    }

    #[test]
    fn finishing_a_page_yields_a_token_only_when_more_rows_exist() {
        let (rows, token) = finish_page(vec![1, 2, 3], 2, "", |n| n.to_string());
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(decode_token(&token, "").unwrap().as_deref(), Some("2"));
        let (rows, token) = finish_page(vec![1, 2], 2, "", |n| n.to_string());
        assert_eq!(rows.len(), 2);
        assert!(token.is_empty());
    }
}
