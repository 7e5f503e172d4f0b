//! A request matched to its route: which route, its path parameters, who calls.

/// A matched route: which, its path parameters, and who calls.
pub struct Call<'a> {
    /// The route's index in `ROUTES`.
    pub route: usize,
    /// Path parameters, in template order.
    pub params: Vec<&'a str>,
    /// The account a customer token limits the caller to (`None`: the keys).
    pub scope: Option<&'a str>,
    /// The caller holds only the publishable key (public, in every page).
    pub publishable: bool,
}

impl Call<'_> {
    /// Path parameter `i` (in template order).
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).copied().unwrap_or_default()
    }
}
