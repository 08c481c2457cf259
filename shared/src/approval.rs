//! What a signature approves, and whether it still does.
//!
//! The customer signs *content*: the quote lines and totals as shown, or the service report. That
//! content has one canonical byte encoding (versioned JSON of fixed-order structs, integers only),
//! and its BLAKE3 hash is stored with the signature. Any later change to approved content changes
//! the hash, so the approval shows as void instead of silently covering something else.

use serde::{Deserialize, Serialize};

use crate::model::{DispatchDoc, FieldDoc, LineKind, Quote, Signature, SignaturePurpose};
use crate::pricing::{PricingError, Totals, line_amount, totals};

#[derive(Serialize)]
struct QuoteContent<'a> {
    v: u32,
    purpose: &'static str,
    currency: &'a str,
    lines: Vec<LineContent<'a>>,
    discount_minor: i64,
    tax_rate_bp: u32,
    totals: Totals,
}

#[derive(Serialize)]
struct LineContent<'a> {
    kind: LineKind,
    code: &'a str,
    description: &'a str,
    quantity: u32,
    unit_price_minor: i64,
    amount_minor: i64,
}

#[derive(Serialize)]
struct CompletionContent<'a> {
    v: u32,
    purpose: &'static str,
    job_id: String,
    customer: &'a str,
    address: &'a str,
    appliance: [&'a str; 3],
    cause: &'a str,
    method: &'a str,
    warranty_days: u32,
    quote: QuoteContent<'a>,
}

fn quote_content(quote: &Quote) -> Result<QuoteContent<'_>, PricingError> {
    let lines = quote
        .lines
        .iter()
        .map(|l| {
            Ok(LineContent {
                kind: l.kind,
                code: &l.code,
                description: &l.description,
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                amount_minor: line_amount(l)?,
            })
        })
        .collect::<Result<_, PricingError>>()?;
    Ok(QuoteContent {
        v: 1,
        purpose: "quote_approval",
        currency: &quote.currency,
        lines,
        discount_minor: quote.discount_minor,
        tax_rate_bp: quote.tax_rate_bp,
        totals: totals(quote)?,
    })
}

/// The canonical bytes of what the customer approves for `purpose`.
pub fn canonical_content(purpose: SignaturePurpose, dispatch: &DispatchDoc, field: &FieldDoc) -> Result<Vec<u8>, PricingError> {
    let quote = quote_content(&field.quote)?;
    let json = match purpose {
        SignaturePurpose::QuoteApproval => serde_json::to_vec(&quote),
        SignaturePurpose::Completion => serde_json::to_vec(&CompletionContent {
            v: 1,
            purpose: "completion",
            job_id: dispatch.job_id.to_string(),
            customer: &dispatch.customer.name,
            address: &dispatch.customer.address,
            appliance: [&dispatch.appliance.brand, &dispatch.appliance.model, &dispatch.appliance.serial],
            cause: &field.report.cause,
            method: &field.report.method,
            warranty_days: field.report.warranty_days,
            quote,
        }),
    };
    Ok(json.expect("content structs serialize to JSON"))
}

/// BLAKE3 of the canonical content, hex.
pub fn content_hash(purpose: SignaturePurpose, dispatch: &DispatchDoc, field: &FieldDoc) -> Result<String, PricingError> {
    Ok(blake3::hash(&canonical_content(purpose, dispatch, field)?).to_hex().to_string())
}

/// Whether the latest signature for a purpose still covers the current content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ApprovalCheck {
    /// Nobody has signed for this yet.
    Unsigned,
    Valid {
        signer: String,
    },
    /// Signed, but the content has changed since: a new signature is needed.
    Voided {
        signer: String,
        signed_hash: String,
        current_hash: String,
    },
}

impl ApprovalCheck {
    pub fn is_valid(&self) -> bool {
        matches!(self, ApprovalCheck::Valid { .. })
    }
}

/// The newest signature of `purpose` (by time, then id).
pub fn latest_signature(field: &FieldDoc, purpose: SignaturePurpose) -> Option<&Signature> {
    field.signatures.iter().filter(|s| s.purpose == purpose).max_by_key(|s| (s.at, s.id))
}

pub fn check(purpose: SignaturePurpose, dispatch: &DispatchDoc, field: &FieldDoc) -> ApprovalCheck {
    let Some(sig) = latest_signature(field, purpose) else {
        return ApprovalCheck::Unsigned;
    };
    // Content that no longer prices (it was corrupted) cannot be what anyone signed.
    let current = content_hash(purpose, dispatch, field).unwrap_or_else(|e| format!("unpriceable: {e}"));
    if current == sig.content_hash {
        ApprovalCheck::Valid { signer: sig.signer.clone() }
    } else {
        ApprovalCheck::Voided { signer: sig.signer.clone(), signed_hash: sig.content_hash.clone(), current_hash: current }
    }
}
