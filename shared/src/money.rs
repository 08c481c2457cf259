//! Money in integer minor units (fen, cents). Floats never touch a price: every sum is checked
//! and an overflow is an error, not a wrapped number on a customer's bill.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount in the minor unit of `currency` (e.g. 12_50 = 12.50 CNY).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("amount overflows: the total is larger than this system can represent")]
    Overflow,
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(String, String),
    #[error("not an ISO 4217 currency code: {0:?}")]
    BadCurrency(String),
}

impl Money {
    pub fn new(minor: i64, currency: &str) -> Result<Self, MoneyError> {
        check_currency(currency)?;
        Ok(Self { minor, currency: currency.to_owned() })
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency.clone() })
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency.clone() })
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency.clone(), other.currency.clone()))
        }
    }
}

/// ISO 4217 codes are three upper-case ASCII letters.
pub fn check_currency(code: &str) -> Result<(), MoneyError> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) { Ok(()) } else { Err(MoneyError::BadCurrency(code.to_owned())) }
}

/// Minor units per major unit. Currencies without a minor unit (JPY, KRW) have 1.
pub fn minor_per_major(currency: &str) -> i64 {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" => 1,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 1000,
        _ => 100,
    }
}

impl fmt::Display for Money {
    /// `¥128.50`-style display without a symbol table: `128.50 CNY`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = minor_per_major(&self.currency);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let per_u = per as u64;
        if per == 1 {
            write!(f, "{sign}{abs} {}", self.currency)
        } else {
            let width = if per == 1000 { 3 } else { 2 };
            write!(f, "{sign}{}.{:0width$} {}", abs / per_u, abs % per_u, self.currency, width = width)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_minor_units() {
        assert_eq!(Money::new(12_850, "CNY").unwrap().to_string(), "128.50 CNY");
        assert_eq!(Money::new(-5, "CNY").unwrap().to_string(), "-0.05 CNY");
        assert_eq!(Money::new(1200, "JPY").unwrap().to_string(), "1200 JPY");
        assert!(Money::new(1, "cny").is_err());
    }

    #[test]
    fn sums_are_checked() {
        let a = Money::new(i64::MAX, "CNY").unwrap();
        let b = Money::new(1, "CNY").unwrap();
        assert_eq!(a.checked_add(&b), Err(MoneyError::Overflow));
        let usd = Money::new(1, "USD").unwrap();
        assert!(matches!(b.checked_add(&usd), Err(MoneyError::CurrencyMismatch(..))));
    }
}
