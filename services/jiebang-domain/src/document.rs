//! Documents attached to applications, reports and objections: which kinds are accepted and
//! what a valid upload declares. Content is addressed by its SHA-256 digest.

use crate::{DomainError, Violations};

/// Media types the platform accepts: PDF and OFD (China's fixed-layout format), images, office
/// documents, archives. Anything else (executables, scripts, HTML) is refused.
pub const ALLOWED_MEDIA_TYPES: &[&str] = &[
    "application/pdf",
    "application/ofd",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/tiff",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/zip",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/gzip",
    "application/x-tar",
];

/// What an upload declares in its first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDeclaration {
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

impl UploadDeclaration {
    /// Checks the declaration against the allow-list and the size limit. A size above the limit
    /// is reported separately (RESOURCE_EXHAUSTED), so the caller can tell "too big" from
    /// "malformed".
    pub fn validate(&self, max_bytes: i64) -> Result<(), DomainError> {
        let mut v = Violations::new();
        let name_chars = self.file_name.chars().count();
        v.require(
            (1..=255).contains(&name_chars)
                && !self.file_name.contains(['/', '\\', '\0'])
                && self.file_name != "."
                && self.file_name != "..",
            "metadata.file_name",
            "must be 1–255 characters without path separators",
        );
        v.require(
            ALLOWED_MEDIA_TYPES.contains(&self.media_type.as_str()),
            "metadata.media_type",
            "is not accepted; use PDF, OFD, an image, an office document or an archive",
        );
        v.require(
            self.size_bytes > 0,
            "metadata.declared_size_bytes",
            "must be positive",
        );
        v.require(
            crate::application::content::is_sha256(&self.sha256),
            "metadata.declared_sha256",
            "must be 64 lowercase hex digits",
        );
        v.into_result()?;
        if self.size_bytes > max_bytes {
            return Err(DomainError::TooLarge {
                message: format!(
                    "the document is {} bytes; the limit is {max_bytes} bytes",
                    self.size_bytes
                ),
            });
        }
        Ok(())
    }
}

/// Whether the first bytes of the content look like the declared media type, for the types
/// with an unmistakable signature; types without one are accepted as declared.
pub fn content_matches(media_type: &str, head: &[u8]) -> bool {
    let starts = |sig: &[u8]| head.starts_with(sig);
    let zip = starts(b"PK\x03\x04");
    let ole = starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    match media_type {
        "application/pdf" => starts(b"%PDF-"),
        "image/png" => starts(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => starts(&[0xFF, 0xD8, 0xFF]),
        "image/gif" => starts(b"GIF87a") || starts(b"GIF89a"),
        "application/zip"
        | "application/ofd"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => zip,
        "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => ole,
        "application/gzip" => starts(&[0x1F, 0x8B]),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declaration() -> UploadDeclaration {
        UploadDeclaration {
            file_name: "技术方案.pdf".into(),
            media_type: "application/pdf".into(),
            size_bytes: 1024,
            sha256: "a".repeat(64),
        }
    }

    #[test]
    fn a_pdf_within_the_limit_is_accepted() {
        assert_eq!(declaration().validate(50 << 20), Ok(()));
    }

    #[test]
    fn executables_and_paths_are_refused() {
        let mut d = declaration();
        d.media_type = "application/x-msdownload".into();
        d.file_name = "../../etc/passwd".into();
        let Err(DomainError::InvalidArgument(v)) = d.validate(50 << 20) else {
            panic!("expected violations");
        };
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn too_large_is_its_own_error() {
        assert!(matches!(
            declaration().validate(1000),
            Err(DomainError::TooLarge { .. })
        ));
    }

    #[test]
    fn signatures_must_match_the_declared_type() {
        assert!(content_matches("application/pdf", b"%PDF-1.7\n"));
        assert!(!content_matches("application/pdf", b"MZ\x90\x00"));
        assert!(content_matches(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK\x03\x04rest"
        ));
        assert!(content_matches("application/x-tar", b"anything"));
    }
}
