//! Money on the wire: an exact [`Decimal`] written as a JSON number with two decimals (`150.00`,
//! as the reference shows it), read from any JSON number without passing through `f64`
//! arithmetic.
//!
//! Writing: the amount, rounded to cents, goes out as the literal text `150.00` (serde_json's raw
//! value), so the cents are on the wire even when they are zero. A reader that parses numbers as
//! `f64` still sees the same number.
//!
//! Reading: serde_json hands a number over as an `f64` (or an integer); the `f64`'s shortest
//! round-trip text is parsed as a decimal, which gives back exactly the digits that were sent for
//! every amount with at most 15 significant digits (far beyond any invoice). `0.1` stays `0.1`;
//! `0.30000000000000004` stays what it is (and the server refuses it for having more than two
//! decimals).
//!
//! Use it on a field with `#[serde(with = "crate::model::money")]`.

use std::str::FromStr;

pub use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// The amount as the wire writes it: rounded half away from zero to cents, two decimals.
pub fn to_wire_text(amount: &Decimal) -> String {
    let cents =
        amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    format!("{cents:.2}")
}

pub fn serialize<S: Serializer>(amount: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    let raw = serde_json::value::RawValue::from_string(to_wire_text(amount))
        .map_err(serde::ser::Error::custom)?;
    serde::Serialize::serialize(&raw, serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    deserializer.deserialize_any(MoneyVisitor)
}

struct MoneyVisitor;

impl Visitor<'_> for MoneyVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an amount of money as a JSON number, e.g. 150.00")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        if !v.is_finite() {
            return Err(E::custom("an amount must be a finite number"));
        }
        // Rust prints an f64 as the shortest text that reads back as the same f64.
        Decimal::from_str(&v.to_string()).map_err(|_| E::custom("the amount is out of range"))
    }

    /// Some JSON tools write money as a string; `"150.00"` is read too.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        Decimal::from_str(v.trim()).map_err(|_| E::custom("not a decimal amount"))
    }
}

/// `Option<Decimal>` fields: `#[serde(default, with = "crate::model::money::option")]`.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        amount: &Option<Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match amount {
            Some(amount) => super::serialize(amount, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        struct Wrap;
        impl<'de> Visitor<'de> for Wrap {
            type Value = Option<Decimal>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an amount of money or null")
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                super::deserialize(d).map(Some)
            }
        }
        deserializer.deserialize_option(Wrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Amount {
        #[serde(with = "super")]
        amount: Decimal,
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).expect("decimal")
    }

    #[test]
    fn amounts_go_out_with_two_decimals() {
        for (value, wire) in [
            ("150", r#"{"amount":150.00}"#),
            ("0.1", r#"{"amount":0.10}"#),
            ("1234567.895", r#"{"amount":1234567.90}"#),
            ("-30.5", r#"{"amount":-30.50}"#),
        ] {
            let text = serde_json::to_string(&Amount { amount: dec(value) }).expect("serialise");
            assert_eq!(text, wire);
        }
    }

    #[test]
    fn amounts_read_back_exactly_without_float_drift() {
        for text in ["0.10", "0.2", "0.30", "150", "999999.99", "12345678901.23"] {
            let json = format!(r#"{{"amount":{text}}}"#);
            let read: Amount = serde_json::from_str(&json).expect("reads");
            assert_eq!(read.amount, dec(text), "{text}");
        }
        let a: Amount = serde_json::from_str(r#"{"amount":0.1}"#).expect("reads");
        let b: Amount = serde_json::from_str(r#"{"amount":0.2}"#).expect("reads");
        assert_eq!(a.amount + b.amount, dec("0.3"));
        let drift: Amount =
            serde_json::from_str(r#"{"amount":0.30000000000000004}"#).expect("reads");
        assert_ne!(
            drift.amount,
            dec("0.3"),
            "the extra digits are kept, not hidden"
        );
    }

    proptest::proptest! {
        #[test]
        fn every_amount_of_cents_round_trips_exactly(cents in -100_000_000_000_000i64..100_000_000_000_000) {
            let amount = Decimal::new(cents, 2);
            let text = serde_json::to_string(&Amount { amount }).expect("serialise");
            let read: Amount = serde_json::from_str(&text).expect("reads");
            proptest::prop_assert_eq!(read.amount, amount);
            let (_, decimals) = text.trim_end_matches('}').rsplit_once('.').expect("a point");
            proptest::prop_assert_eq!(decimals.len(), 2);
        }
    }

    #[test]
    fn a_value_round_trips_through_json_value_too() {
        let value = serde_json::to_value(Amount {
            amount: dec("19.99"),
        })
        .expect("to value");
        let back: Amount = serde_json::from_value(value).expect("from value");
        assert_eq!(back.amount, dec("19.99"));
    }
}
