//! Who is calling, and what they may do: scopes, roles, tiers, credentials and the principal
//! every API handler receives.

pub mod authorize;
pub mod oauth;
pub mod password;
pub(crate) mod signin;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A permission a token or key carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Scope {
    #[serde(rename = "read:patients")]
    ReadPatients,
    #[serde(rename = "write:patients")]
    WritePatients,
    #[serde(rename = "read:appointments")]
    ReadAppointments,
    #[serde(rename = "write:appointments")]
    WriteAppointments,
    #[serde(rename = "read:providers")]
    ReadProviders,
    #[serde(rename = "read:records")]
    ReadRecords,
    #[serde(rename = "write:records")]
    WriteRecords,
    #[serde(rename = "read:invoices")]
    ReadInvoices,
    #[serde(rename = "write:invoices")]
    WriteInvoices,
    #[serde(rename = "admin:webhooks")]
    AdminWebhooks,
    #[serde(rename = "admin:users")]
    AdminUsers,
    /// Extension: change providers' hours, time off and locations.
    #[serde(rename = "admin:clinic")]
    AdminClinic,
}

impl Scope {
    pub const ALL: [Scope; 12] = [
        Scope::ReadPatients,
        Scope::WritePatients,
        Scope::ReadAppointments,
        Scope::WriteAppointments,
        Scope::ReadProviders,
        Scope::ReadRecords,
        Scope::WriteRecords,
        Scope::ReadInvoices,
        Scope::WriteInvoices,
        Scope::AdminWebhooks,
        Scope::AdminUsers,
        Scope::AdminClinic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReadPatients => "read:patients",
            Scope::WritePatients => "write:patients",
            Scope::ReadAppointments => "read:appointments",
            Scope::WriteAppointments => "write:appointments",
            Scope::ReadProviders => "read:providers",
            Scope::ReadRecords => "read:records",
            Scope::WriteRecords => "write:records",
            Scope::ReadInvoices => "read:invoices",
            Scope::WriteInvoices => "write:invoices",
            Scope::AdminWebhooks => "admin:webhooks",
            Scope::AdminUsers => "admin:users",
            Scope::AdminClinic => "admin:clinic",
        }
    }

    /// Every read scope.
    pub fn reads() -> Scopes {
        [
            Scope::ReadPatients,
            Scope::ReadAppointments,
            Scope::ReadProviders,
            Scope::ReadRecords,
            Scope::ReadInvoices,
        ]
        .into_iter()
        .collect()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| format!("unknown scope {s:?}"))
    }
}

/// A set of scopes, written space-separated on the wire (RFC 6749 §3.3).
pub type Scopes = BTreeSet<Scope>;

/// Parses `"read:patients write:appointments"`.
pub fn parse_scopes(text: &str) -> Result<Scopes, String> {
    text.split_whitespace().map(Scope::from_str).collect()
}

/// Writes scopes space-separated.
pub fn format_scopes(scopes: &Scopes) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A staff member's role; the scopes a user token may carry at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Reception,
    Clinician,
    Billing,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reception => "reception",
            Role::Clinician => "clinician",
            Role::Billing => "billing",
            Role::Admin => "admin",
        }
    }

    /// What the role may do.
    pub fn scopes(self) -> Scopes {
        use Scope::*;
        let list: &[Scope] = match self {
            // Reception reads invoices to answer "what do I owe" and takes the copay (payments are
            // the only thing `write:invoices` allows). A clinician has reception's patient and
            // appointment scopes plus records, but does not take payments.
            Role::Reception => &[
                ReadPatients,
                WritePatients,
                ReadAppointments,
                WriteAppointments,
                ReadProviders,
                ReadInvoices,
                WriteInvoices,
            ],
            Role::Clinician => &[
                ReadPatients,
                WritePatients,
                ReadAppointments,
                WriteAppointments,
                ReadProviders,
                ReadInvoices,
                ReadRecords,
                WriteRecords,
            ],
            Role::Billing => &[
                ReadPatients,
                ReadAppointments,
                ReadProviders,
                ReadInvoices,
                WriteInvoices,
            ],
            Role::Admin => &Scope::ALL,
        };
        list.iter().copied().collect()
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reception" => Ok(Role::Reception),
            "clinician" => Ok(Role::Clinician),
            "billing" => Ok(Role::Billing),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?} (reception, clinician, billing, admin)"
            )),
        }
    }
}

/// A rate-limit tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Standard,
    Premium,
    Enterprise,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Premium => "premium",
            Tier::Enterprise => "enterprise",
        }
    }

    /// Requests per minute of the tier; enterprise clients carry their own.
    pub fn default_rate(self) -> u32 {
        match self {
            Tier::Standard => 100,
            Tier::Premium => 1000,
            Tier::Enterprise => 6000,
        }
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "standard" => Ok(Tier::Standard),
            "premium" => Ok(Tier::Premium),
            "enterprise" => Ok(Tier::Enterprise),
            other => Err(format!(
                "unknown tier {other:?} (standard, premium, enterprise)"
            )),
        }
    }
}

/// The signed-in person behind a user token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRef {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Bearer,
    ApiKey,
}

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: String,
    pub user: Option<UserRef>,
    pub scopes: Scopes,
    pub tier: Tier,
    pub rate_per_minute: u32,
    pub kind: CredentialKind,
    /// Whose rate-limit bucket and idempotency keys these are: client and user for user tokens,
    /// the client for client credentials, the key for API keys.
    pub bucket: String,
}

impl Principal {
    /// Refuses with 403 unless the caller holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this credential lacks the scope {scope}"
            )))
        }
    }
}

/// A new random secret (tokens, codes, keys): 256 bits, URL-safe base64, with a prefix that says
/// what it is when one turns up in the wrong place.
pub fn new_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What the database keeps of a bearer secret: its SHA-256, so a leaked database leaks no
/// usable token. (High-entropy random secrets need no slow hash.)
pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_text() {
        let scopes = parse_scopes("write:appointments read:patients").expect("valid");
        assert_eq!(format_scopes(&scopes), "read:patients write:appointments");
        assert!(parse_scopes("read:everything").is_err());
    }

    #[test]
    fn reception_cannot_read_records_and_clinicians_can() {
        assert!(!Role::Reception.scopes().contains(&Scope::ReadRecords));
        assert!(Role::Clinician.scopes().contains(&Scope::ReadRecords));
        assert!(!Role::Billing.scopes().contains(&Scope::WritePatients));
        assert_eq!(Role::Admin.scopes().len(), Scope::ALL.len());
    }
}
