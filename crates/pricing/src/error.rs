//! The engine's one error type: a stable machine code, the JSON path of the
//! offending field, and a message a person can act on.

use std::fmt;

/// The stable machine codes of [`Error`], as they appear in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A required field is absent (or `null`).
    MissingField,
    /// A field has the wrong type, a malformed date, a negative or non-numeric quantity.
    InvalidValue,
    /// The offering is not in the catalog (or, for a change, not on the contract).
    UnknownOffering,
    /// The rate is not in the catalog, or belongs to another offering.
    UnknownRate,
    /// The product is not in the catalog, or not part of that offering.
    UnknownProduct,
    /// The same offering is named twice (reported at the second occurrence).
    DuplicateOffering,
    /// The same product is named twice in one offering (at the second occurrence).
    DuplicateProduct,
    /// A quantity lies outside the product's `[minQuantity, maxQuantity]`.
    QuantityOutOfRange,
    /// A sign-up's `startDate` lies before today: sign-ups are not backdated.
    StartDateInPast,
    /// The catalog is malformed; the path is relative to the catalog.
    InvalidCatalog,
    /// A change's effective date lies before today.
    EffectiveDateInPast,
    /// A change's effective date lies after the contract's `endDate`.
    EffectiveDateAfterEnd,
    /// The contract is not `ACTIVE`.
    ContractNotActive,
    /// An amount or a date left the representable range.
    Overflow,
    /// `quote.couponId` names no coupon of the catalog.
    UnknownCoupon,
    /// The coupon's `redeemBy` has passed.
    CouponExpired,
    /// The coupon covers none of the quote's offerings.
    CouponNotApplicable,
    /// A change names a metered product's quantity: usage, not a quantity, prices it.
    MeteredProduct,
}

impl ErrorCode {
    /// The code as it appears in JSON (`"QUANTITY_OUT_OF_RANGE"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MissingField => "MISSING_FIELD",
            Self::InvalidValue => "INVALID_VALUE",
            Self::UnknownOffering => "UNKNOWN_OFFERING",
            Self::UnknownRate => "UNKNOWN_RATE",
            Self::UnknownProduct => "UNKNOWN_PRODUCT",
            Self::DuplicateOffering => "DUPLICATE_OFFERING",
            Self::DuplicateProduct => "DUPLICATE_PRODUCT",
            Self::QuantityOutOfRange => "QUANTITY_OUT_OF_RANGE",
            Self::StartDateInPast => "START_DATE_IN_PAST",
            Self::InvalidCatalog => "INVALID_CATALOG",
            Self::EffectiveDateInPast => "EFFECTIVE_DATE_IN_PAST",
            Self::EffectiveDateAfterEnd => "EFFECTIVE_DATE_AFTER_END",
            Self::ContractNotActive => "CONTRACT_NOT_ACTIVE",
            Self::Overflow => "OVERFLOW",
            Self::UnknownCoupon => "UNKNOWN_COUPON",
            Self::CouponExpired => "COUPON_EXPIRED",
            Self::CouponNotApplicable => "COUPON_NOT_APPLICABLE",
            Self::MeteredProduct => "METERED_PRODUCT",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error the engine reports instead of a price.
///
/// `path` names the offending field in the input it came from
/// (`quote.offerings[0].items[1].quantity`, or relative to the catalog for
/// [`ErrorCode::InvalidCatalog`]). Serialises as `{ "code", "path", "message" }`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} at {path}: {message}")]
pub struct Error {
    /// The stable machine code.
    pub code: ErrorCode,
    /// The JSON path of the offending field (empty for the document itself).
    pub path: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl Error {
    /// An error with `code` at `path`.
    #[cold]
    #[inline(never)]
    pub fn new(code: ErrorCode, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code, path: path.into(), message: message.into() }
    }

    /// The same error, its path prefixed (`operations[1].` + `payload…`).
    #[must_use]
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.path = crate::path::join_path(prefix, &self.path);
        self
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An amount or date that no longer fits: reported at `path`.
#[cold]
#[inline(never)]
pub(crate) fn overflow<P: crate::path::AsPath + ?Sized>(path: &P) -> Error {
    Error::new(
        ErrorCode::Overflow,
        path.render(),
        "the amount or date computed from this value is too large to represent",
    )
}
