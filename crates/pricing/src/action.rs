//! The contract actions a change request names.

/// The six actions of the Contract Management API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// New total quantities for listed products.
    QuantityChange,
    /// Another rate of the same offering.
    RateChange,
    /// Another offering in the line's place.
    OfferingChange,
    /// A new, co-termed line.
    AddOffering,
    /// A line ends.
    RemoveOffering,
    /// Every line ends; the contract is canceled.
    Cancellation,
}

impl Action {
    /// Every action, in the doc's order.
    pub const ALL: [Self; 6] = [
        Self::QuantityChange,
        Self::RateChange,
        Self::OfferingChange,
        Self::AddOffering,
        Self::RemoveOffering,
        Self::Cancellation,
    ];

    /// The JSON name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::QuantityChange => "QUANTITY_CHANGE",
            Self::RateChange => "RATE_CHANGE",
            Self::OfferingChange => "OFFERING_CHANGE",
            Self::AddOffering => "ADD_OFFERING",
            Self::RemoveOffering => "REMOVE_OFFERING",
            Self::Cancellation => "CANCELLATION",
        }
    }

    /// Reads the JSON name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "QUANTITY_CHANGE" => Self::QuantityChange,
            "RATE_CHANGE" => Self::RateChange,
            "OFFERING_CHANGE" => Self::OfferingChange,
            "ADD_OFFERING" => Self::AddOffering,
            "REMOVE_OFFERING" => Self::RemoveOffering,
            "CANCELLATION" => Self::Cancellation,
            _ => return None,
        })
    }
}
