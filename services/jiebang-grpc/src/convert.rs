//! Small conversions between protobuf and domain values.

use jiebang_domain::{DomainError, Timestamp};

pub fn to_proto_time(at: Timestamp) -> prost_types::Timestamp {
    let micros = at.micros();
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        // Always within 0..1_000_000_000, so the conversion cannot fail.
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

/// Converts a request timestamp; `field` names it for the violation when it is malformed.
pub fn from_proto_time(t: &prost_types::Timestamp, field: &str) -> Result<Timestamp, DomainError> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(DomainError::invalid(
            field,
            "nanos must be within 0..999,999,999",
        ));
    }
    t.seconds
        .checked_mul(1_000_000)
        .and_then(|s| s.checked_add(i64::from(t.nanos / 1_000)))
        .map(Timestamp)
        .ok_or_else(|| DomainError::invalid(field, "is out of range"))
}

pub fn optional_time(
    t: Option<&prost_types::Timestamp>,
    field: &str,
) -> Result<Option<Timestamp>, DomainError> {
    t.map(|t| from_proto_time(t, field)).transpose()
}

/// Empty strings in proto3 mean "not set".
pub fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_to_the_microsecond() {
        for micros in [0, 1, 1_790_000_000_123_456, -1] {
            let t = Timestamp(micros);
            assert_eq!(from_proto_time(&to_proto_time(t), "t").unwrap(), t);
        }
    }

    #[test]
    fn malformed_timestamps_are_field_violations() {
        let bad = prost_types::Timestamp {
            seconds: 1,
            nanos: -5,
        };
        assert!(from_proto_time(&bad, "close_time").is_err());
        let huge = prost_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert!(from_proto_time(&huge, "close_time").is_err());
    }
}
