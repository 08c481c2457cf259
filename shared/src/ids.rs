//! Identifiers. Every record is named by a UUIDv7 so ids sort by creation time and can be minted
//! offline on any device without coordination.

use std::fmt;
use std::str::FromStr;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            Reconcile,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        // By hand so `Option<$name>` hydrates too (it calls `hydrate_bytes` on the inner type).
        impl Hydrate for $name {
            fn hydrate_bytes(bytes: &[u8]) -> Result<Self, autosurgeon::HydrateError> {
                Uuid::hydrate_bytes(bytes).map(Self)
            }
        }

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::openapi::string_schema(utoipa::openapi::KnownFormat::Uuid, "a UUIDv7")
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A repair job; names both of its documents.
    JobId
);
id_type!(
    /// A technician (a person, who may own several devices).
    TechnicianId
);
id_type!(
    /// A device (phone) paired to a technician; also the Automerge actor of its edits.
    DeviceId
);
id_type!(
    /// A dispatcher account.
    DispatcherId
);
id_type!(
    /// An item inside a document (event, note, photo, scan, line, signature).
    ItemId
);

/// The content address of a blob: the BLAKE3 hash of its bytes, lower-case hex.
///
/// Blobs are immutable, so the hash is both the name and the integrity check.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(try_from = "String", into = "String")]
pub struct BlobHash(String);

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for BlobHash {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::pattern_schema("^[0-9a-f]{64}$", "the BLAKE3 hash of the bytes, 64 lower-case hex digits")
    }
}
#[cfg(feature = "openapi")]
impl utoipa::ToSchema for BlobHash {}

impl BlobHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(blake3::hash(bytes).to_hex().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `bytes` are the content this hash names.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        *self == Self::of(bytes)
    }
}

/// A string that is not 64 lower-case hex digits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a blob hash (64 lower-case hex digits): {0:?}")]
pub struct BadBlobHash(pub String);

impl TryFrom<String> for BlobHash {
    type Error = BadBlobHash;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let ok = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok { Ok(Self(s)) } else { Err(BadBlobHash(s)) }
    }
}

impl FromStr for BlobHash {
    type Err = BadBlobHash;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(s.to_owned())
    }
}

impl From<BlobHash> for String {
    fn from(h: BlobHash) -> Self {
        h.0
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_hash_parses_only_hex() {
        let h = BlobHash::of(b"plate photo");
        assert!(h.as_str().parse::<BlobHash>().is_ok());
        assert!(h.matches(b"plate photo"));
        assert!(!h.matches(b"plate photo!"));
        assert!("zz".parse::<BlobHash>().is_err());
        assert!(h.as_str().to_uppercase().parse::<BlobHash>().is_err());
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = JobId::new();
        let b = JobId::new();
        assert!(a < b);
        assert_eq!(a.to_string().parse::<JobId>().unwrap(), a);
    }
}
