//! Webhook signatures: how Practice Studio signs the events it posts, and how a receiver checks
//! them. Pure functions (the caller passes "now"), compiled without the `client` feature so the
//! server signs with the same code receivers verify with.
//!
//! # The scheme
//!
//! Every delivery carries one header:
//!
//! ```text
//! X-PracticeStudio-Signature: t=1614556800,v1=a7d2a49e8dc62fe1847d645770452df1543a0e0c1a12e3f1b061f687720d7d16
//! ```
//!
//! * `t` is the time of signing in Unix seconds (decimal);
//! * each `v1` is the lowercase hex of `HMAC-SHA256(secret, t + "." + raw_body)`, where `t` is the
//!   header's `t` text exactly and `raw_body` the request body's bytes exactly as received (not
//!   re-serialized JSON); receivers accept lowercase hex only;
//! * while a secret is being rotated the header carries one `v1` per active secret; a delivery is
//!   genuine when any `v1` matches any of the receiver's secrets. Other keys (future `v2`…) are
//!   ignored; pairs are separated by `,`, and spaces around them are allowed.
//!
//! A receiver refuses a delivery whose `t` is more than the tolerance (300 s by default) away from
//! its own clock, in either direction, so a captured delivery cannot be replayed later. Events also
//! carry an `id`; a receiver that must not act twice remembers the ids it has handled.
//!
//! # Worked example
//!
//! With the secret `whsec_demo`, `t = 1614556800` and the body
//! `{"id":"EVT-1001","event":"patient.created","timestamp":"2021-03-01T00:00:00Z","data":{"id":"PAT-12345"},"requestId":"req-abc-123"}`,
//! the signed bytes are `1614556800.` followed by the body, and `v1` is
//! `a7d2a49e8dc62fe1847d645770452df1543a0e0c1a12e3f1b061f687720d7d16`.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use practice_studio::webhook;
//!
//! let body = br#"{"id":"EVT-1001","event":"patient.created","timestamp":"2021-03-01T00:00:00Z","data":{"id":"PAT-12345"},"requestId":"req-abc-123"}"#;
//! let header = "t=1614556800,v1=a7d2a49e8dc62fe1847d645770452df1543a0e0c1a12e3f1b061f687720d7d16";
//! let now = Utc.timestamp_opt(1614556830, 0).unwrap(); // 30 s after signing
//! let event = webhook::verify(&["whsec_demo"], header, body, now, webhook::DEFAULT_TOLERANCE)?;
//! assert_eq!(event.event, "patient.created");
//! assert_eq!(event.data["id"], "PAT-12345");
//! # Ok::<(), webhook::WebhookError>(())
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-PracticeStudio-Signature";

/// How far a delivery's `t` may be from the receiver's clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A delivered event, as the payload carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The event's id, the same on every retry of its delivery (absent from the reference's
    /// example; our server always sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `patient.created`, `appointment.canceled`, …
    pub event: String,
    pub timestamp: DateTime<Utc>,
    /// The resource, as its route returns it.
    pub data: serde_json::Value,
    /// The id (`X-Request-ID`) of the API request that caused the event, when one did: a desk
    /// that sets its own request ids matches events to its pending writes by it.
    #[serde(
        default,
        rename = "requestId",
        alias = "request_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
}

/// Why a delivery was refused. None of them quotes the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("no webhook secret was given to verify with")]
    NoSecrets,
    #[error("no signature matches any of the secrets")]
    SignatureMismatch,
    /// Genuine, but signed too long ago or too far ahead (seconds; negative is in the future).
    #[error("the delivery was signed {age_seconds} s from now, outside the tolerance")]
    OutsideTolerance { age_seconds: i64 },
    /// Genuine, but not an event payload.
    #[error("the payload is not a webhook event: {0}")]
    Payload(String),
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` signed with each of `secrets` at `timestamp` (Unix seconds).
pub fn sign<S: AsRef<[u8]>>(secrets: &[S], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let mut header = format!("t={t}");
    for secret in secrets {
        let signature = mac(secret.as_ref(), &t, body).finalize().into_bytes();
        header.push_str(",v1=");
        header.push_str(&hex::encode(signature));
    }
    header
}

/// Checks a delivery (see the [module documentation](self) for the scheme) and returns its event.
///
/// The signature is checked first, in constant time for each candidate; then the time; then the
/// body is parsed.
pub fn verify<S: AsRef<[u8]>>(
    secrets: &[S],
    header_value: &str,
    raw_body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<WebhookEvent, WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecrets);
    }
    let mut timestamp: Option<&str> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for pair in header_value.split(',') {
        let (key, value) = pair
            .trim()
            .split_once('=')
            .ok_or(WebhookError::Malformed("every part must be key=value"))?;
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(WebhookError::Malformed("t appears more than once"));
                }
                timestamp = Some(value.trim());
            }
            "v1" => {
                let value = value.trim();
                // Lowercase only, as signed: one spelling per signature, so any changed byte of
                // the header fails.
                if !value
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    return Err(WebhookError::Malformed("v1 is not lowercase hex"));
                }
                let bytes = hex::decode(value)
                    .map_err(|_| WebhookError::Malformed("v1 is not 32 bytes"))?;
                if bytes.len() != 32 {
                    return Err(WebhookError::Malformed("v1 is not 32 bytes"));
                }
                signatures.push(bytes);
            }
            // Later schemes; a receiver that knows only v1 skips them.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::Malformed("t is missing"))?;
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::Malformed(
            "t is not a whole number of seconds",
        ));
    }
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| WebhookError::Malformed("t is out of range"))?;
    if signatures.is_empty() {
        return Err(WebhookError::Malformed("no v1 signature"));
    }
    // Every candidate is compared in full (`verify_slice` is constant-time), so timing tells an
    // attacker nothing about how close a forgery came.
    let mut genuine = false;
    for secret in secrets {
        let expected = mac(secret.as_ref(), timestamp, raw_body);
        for signature in &signatures {
            genuine |= expected.clone().verify_slice(signature).is_ok();
        }
    }
    if !genuine {
        return Err(WebhookError::SignatureMismatch);
    }
    let age_seconds = now.timestamp().saturating_sub(seconds);
    let tolerance_seconds = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if age_seconds.saturating_abs() > tolerance_seconds {
        return Err(WebhookError::OutsideTolerance { age_seconds });
    }
    serde_json::from_slice(raw_body).map_err(|e| {
        // serde's message may quote a value from the payload: name only where it broke.
        WebhookError::Payload(format!(
            "unreadable at line {}, column {}",
            e.line(),
            e.column()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const BODY: &[u8] = br#"{"id":"EVT-1001","event":"patient.created","timestamp":"2021-03-01T00:00:00Z","data":{"id":"PAT-12345"},"requestId":"req-abc-123"}"#;
    /// Computed independently (Python's `hmac`) for the documented example.
    const V1_DEMO: &str = "a7d2a49e8dc62fe1847d645770452df1543a0e0c1a12e3f1b061f687720d7d16";
    const V1_OLD: &str = "bfc05263091e0d56567065a0a8ebc2a756ab68faea5f7e44ff7269c76b2ebd44";
    const T: i64 = 1_614_556_800;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().expect("time")
    }

    fn check(secrets: &[&str], header: &str, now: i64) -> Result<WebhookEvent, WebhookError> {
        verify(secrets, header, BODY, at(now), DEFAULT_TOLERANCE)
    }

    #[test]
    fn the_documented_vector_verifies_and_signing_reproduces_it() {
        let header = format!("t={T},v1={V1_DEMO}");
        assert_eq!(sign(&["whsec_demo"], T, BODY), header);
        let event = check(&["whsec_demo"], &header, T + 30).expect("genuine");
        assert_eq!(event.id.as_deref(), Some("EVT-1001"));
        assert_eq!(event.event, "patient.created");
        assert_eq!(event.timestamp, at(T));
        assert_eq!(event.request_id.as_deref(), Some("req-abc-123"));
        assert_eq!(event.data["id"], "PAT-12345");
    }

    #[test]
    fn a_wrong_signature_or_secret_is_refused() {
        let mut forged = V1_DEMO.to_owned();
        forged.replace_range(0..1, "c");
        assert_eq!(
            check(&["whsec_demo"], &format!("t={T},v1={forged}"), T),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            check(&["whsec_other"], &format!("t={T},v1={V1_DEMO}"), T),
            Err(WebhookError::SignatureMismatch)
        );
        // The signature binds the timestamp: moving t breaks it.
        assert_eq!(
            check(&["whsec_demo"], &format!("t={},v1={V1_DEMO}", T + 1), T),
            Err(WebhookError::SignatureMismatch)
        );
        let none: [&str; 0] = [];
        assert_eq!(
            verify(
                &none,
                &format!("t={T},v1={V1_DEMO}"),
                BODY,
                at(T),
                DEFAULT_TOLERANCE
            ),
            Err(WebhookError::NoSecrets)
        );
    }

    #[test]
    fn stale_and_future_deliveries_are_refused_at_the_tolerance() {
        let header = format!("t={T},v1={V1_DEMO}");
        assert!(check(&["whsec_demo"], &header, T + 300).is_ok());
        assert_eq!(
            check(&["whsec_demo"], &header, T + 301),
            Err(WebhookError::OutsideTolerance { age_seconds: 301 })
        );
        assert!(check(&["whsec_demo"], &header, T - 300).is_ok());
        assert_eq!(
            check(&["whsec_demo"], &header, T - 301),
            Err(WebhookError::OutsideTolerance { age_seconds: -301 })
        );
    }

    #[test]
    fn any_v1_may_match_any_secret_during_a_rotation() {
        let both = format!("t={T}, v1={V1_OLD}, v1={V1_DEMO}, v0=ignored");
        assert!(check(&["whsec_demo"], &both, T).is_ok());
        assert!(check(&["whsec_old"], &both, T).is_ok());
        assert!(check(&["whsec_new", "whsec_old"], &both, T).is_ok());
        assert_eq!(
            sign(&["whsec_old", "whsec_demo"], T, BODY),
            format!("t={T},v1={V1_OLD},v1={V1_DEMO}")
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for (header, why) in [
            ("", "every part must be key=value"),
            (&format!("v1={V1_DEMO}") as &str, "t is missing"),
            (
                &format!("t=,v1={V1_DEMO}"),
                "t is not a whole number of seconds",
            ),
            (
                &format!("t=-5,v1={V1_DEMO}"),
                "t is not a whole number of seconds",
            ),
            (
                &format!("t={T},t={T},v1={V1_DEMO}"),
                "t appears more than once",
            ),
            (&format!("t={T}"), "no v1 signature"),
            (&format!("t={T},v1=zz"), "v1 is not lowercase hex"),
            (
                &format!("t={T},v1={}", V1_DEMO.to_uppercase()),
                "v1 is not lowercase hex",
            ),
            (&format!("t={T},v1={}", &V1_DEMO[1..]), "v1 is not 32 bytes"),
            (&format!("t={T},v1=abcd"), "v1 is not 32 bytes"),
            (
                &format!("t=99999999999999999999,v1={V1_DEMO}"),
                "t is out of range",
            ),
        ] {
            assert_eq!(
                check(&["whsec_demo"], header, T),
                Err(WebhookError::Malformed(why)),
                "{header}"
            );
        }
    }

    #[test]
    fn a_genuine_body_that_is_not_an_event_is_refused_without_quoting_it() {
        let body = br#"{"event": "Jane Smith"}"#;
        let header = sign(&["s"], T, body);
        match verify(&["s"], &header, body, at(T), DEFAULT_TOLERANCE) {
            Err(WebhookError::Payload(reason)) => assert!(!reason.contains("Jane"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn any_changed_byte_of_body_or_header_fails(
            body in proptest::collection::vec(any::<u8>(), 1..512),
            secret in "[a-z0-9_]{1,32}",
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
            header_index in any::<prop::sample::Index>(),
        ) {
            let header = sign(&[secret.as_str()], T, &body);
            // Signature checks come before parsing: a random body fails only as a payload.
            let genuine = verify(&[secret.as_str()], &header, &body, at(T), DEFAULT_TOLERANCE);
            prop_assert!(!matches!(genuine, Err(WebhookError::SignatureMismatch | WebhookError::Malformed(_))));

            let mut changed = body.clone();
            changed[index.index(body.len())] ^= flip;
            let result = verify(&[secret.as_str()], &header, &changed, at(T), DEFAULT_TOLERANCE);
            prop_assert_eq!(result, Err(WebhookError::SignatureMismatch));

            // A changed byte of the header's t or signature fails too (as a mismatch, or as
            // malformed when the change breaks the syntax).
            let mut header_bytes = header.clone().into_bytes();
            let i = header_index.index(header_bytes.len());
            header_bytes[i] ^= flip;
            if let Ok(changed_header) = String::from_utf8(header_bytes) {
                let result = verify(&[secret.as_str()], &changed_header, &body, at(T), DEFAULT_TOLERANCE);
                prop_assert!(result.is_err(), "{} accepted", changed_header);
            }
        }
    }
}
