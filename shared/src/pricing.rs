//! Quote totals. Integer minor units, i128 intermediates, and an error rather than a wrapped
//! number when a total does not fit.

use serde::{Deserialize, Serialize};

use crate::model::{LineItem, Quote};
use crate::money::{MoneyError, check_currency};

/// Largest quantity on one line; a typo of 1000000 pumps is refused, not priced.
pub const LINE_QUANTITY_MAX: u32 = 10_000;
/// Lines on one quote.
pub const QUOTE_LINES_MAX: usize = 200;
/// Tax rates above 100 % are input errors.
pub const TAX_RATE_BP_MAX: u32 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PricingError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("line {line}: quantity must be 1..={LINE_QUANTITY_MAX}, got {quantity}")]
    BadQuantity { line: usize, quantity: u32 },
    #[error("line {line}: unit price must not be negative ({price})")]
    NegativePrice { line: usize, price: i64 },
    #[error("a quote has at most {QUOTE_LINES_MAX} lines")]
    TooManyLines,
    #[error("discount {discount} must be between 0 and the subtotal {subtotal}")]
    BadDiscount { discount: i64, subtotal: i64 },
    #[error("tax rate {0} bp is over 100 %")]
    BadTaxRate(u32),
}

/// Checks one line on its own (before it is added to a quote).
pub fn check_line(index: usize, line: &LineItem) -> Result<(), PricingError> {
    if line.quantity == 0 || line.quantity > LINE_QUANTITY_MAX {
        return Err(PricingError::BadQuantity { line: index, quantity: line.quantity });
    }
    if line.unit_price_minor < 0 {
        return Err(PricingError::NegativePrice { line: index, price: line.unit_price_minor });
    }
    Ok(())
}

/// The line's amount, `quantity * unit price`.
pub fn line_amount(line: &LineItem) -> Result<i64, PricingError> {
    i64::try_from(i128::from(line.quantity) * i128::from(line.unit_price_minor)).map_err(|_| MoneyError::Overflow.into())
}

/// Subtotal, discount, tax (rounded half up on the taxable amount) and total.
pub fn totals(quote: &Quote) -> Result<Totals, PricingError> {
    check_currency(&quote.currency)?;
    if quote.lines.len() > QUOTE_LINES_MAX {
        return Err(PricingError::TooManyLines);
    }
    if quote.tax_rate_bp > TAX_RATE_BP_MAX {
        return Err(PricingError::BadTaxRate(quote.tax_rate_bp));
    }
    let mut subtotal: i128 = 0;
    for (i, line) in quote.lines.iter().enumerate() {
        check_line(i, line)?;
        subtotal += i128::from(line.quantity) * i128::from(line.unit_price_minor);
    }
    let subtotal = i64::try_from(subtotal).map_err(|_| MoneyError::Overflow)?;
    if quote.discount_minor < 0 || quote.discount_minor > subtotal {
        return Err(PricingError::BadDiscount { discount: quote.discount_minor, subtotal });
    }
    let taxable = i128::from(subtotal - quote.discount_minor);
    let tax = (taxable * i128::from(quote.tax_rate_bp) + 5_000) / 10_000;
    let tax = i64::try_from(tax).map_err(|_| MoneyError::Overflow)?;
    let total = (subtotal - quote.discount_minor).checked_add(tax).ok_or(MoneyError::Overflow)?;
    Ok(Totals {
        currency: quote.currency.clone(),
        subtotal_minor: subtotal,
        discount_minor: quote.discount_minor,
        tax_minor: tax,
        total_minor: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ItemId;
    use crate::model::LineKind;

    fn line(quantity: u32, unit: i64) -> LineItem {
        LineItem { id: ItemId::new(), kind: LineKind::Part, code: "P".into(), description: "part".into(), quantity, unit_price_minor: unit }
    }

    #[test]
    fn totals_with_discount_and_tax() {
        let q = Quote { currency: "CNY".into(), lines: vec![line(1, 50_00), line(2, 35_50)], discount_minor: 10_00, tax_rate_bp: 600 };
        let t = totals(&q).unwrap();
        assert_eq!(t.subtotal_minor, 121_00);
        // (121.00 - 10.00) * 6 % = 6.66
        assert_eq!(t.tax_minor, 6_66);
        assert_eq!(t.total_minor, 117_66);
    }

    #[test]
    fn tax_rounds_half_up() {
        let q = Quote { currency: "CNY".into(), lines: vec![line(1, 25)], discount_minor: 0, tax_rate_bp: 1_000 };
        // 0.25 * 10 % = 0.025 -> 0.03
        assert_eq!(totals(&q).unwrap().tax_minor, 3);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut q = Quote { currency: "CNY".into(), lines: vec![line(0, 1)], discount_minor: 0, tax_rate_bp: 0 };
        assert!(matches!(totals(&q), Err(PricingError::BadQuantity { .. })));
        q.lines = vec![line(1, -1)];
        assert!(matches!(totals(&q), Err(PricingError::NegativePrice { .. })));
        q.lines = vec![line(1, 100)];
        q.discount_minor = 101;
        assert!(matches!(totals(&q), Err(PricingError::BadDiscount { .. })));
        q.discount_minor = 0;
        q.lines = vec![line(LINE_QUANTITY_MAX, i64::MAX)];
        assert_eq!(totals(&q), Err(PricingError::Money(MoneyError::Overflow)));
    }
}
