//! A line's product quantities as requests, contracts and changes give them:
//! every product of the offering, in its order, each within its bounds.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::catalog::{Catalog, Offering};
use crate::error::{Error, ErrorCode, Result, overflow};
use crate::json::{AsPath, Doc, Path, clip};

const DOC: Doc = Doc::Request;

/// Reads `[{ productId, quantity }]` for `offering`: every product of the
/// offering gets a quantity (listed, else `base`'s, else its default), in
/// offering order.
pub(crate) fn quantities(
    catalog: &Catalog,
    offering: &Offering,
    items: &[Value],
    path: &Path<'_>,
    quantity_required: bool,
    base: Option<&[Decimal]>,
) -> Result<Vec<Decimal>> {
    let mut quantities: Vec<Decimal> = Vec::with_capacity(offering.products.len());
    for (pos, p) in offering.products.iter().enumerate() {
        let product = catalog.products.get(*p).ok_or_else(|| overflow(path))?;
        quantities.push(base.and_then(|b| b.get(pos).copied()).unwrap_or(product.default_quantity));
    }
    let mut seen = vec![false; offering.products.len()];
    for (j, item) in items.iter().enumerate() {
        let item_path = path.index(j);
        let obj = DOC.object(item, &item_path)?;
        let pid_path = item_path.key("productId");
        let pid = DOC.string(DOC.required(obj, "productId", &item_path)?, &pid_path)?;
        let pos = offering.position_of_id(catalog, pid).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownProduct,
                pid_path.render(),
                format!("'{}' is not a product of offering '{}'", clip(pid), offering.id),
            )
        })?;
        let was_seen = seen.get_mut(pos).ok_or_else(|| overflow(&pid_path))?;
        if std::mem::replace(was_seen, true) {
            return Err(Error::new(
                ErrorCode::DuplicateProduct,
                pid_path.render(),
                format!("product '{}' is listed twice", clip(pid)),
            ));
        }
        let q_path = item_path.key("quantity");
        match DOC.field(obj, "quantity") {
            None if quantity_required => return Err(DOC.missing(&q_path, "quantity")),
            None => {}
            Some(v) => {
                let q = quantity(catalog, offering, pos, v, &q_path)?;
                if let Some(slot) = quantities.get_mut(pos) {
                    *slot = q;
                }
            }
        }
    }
    Ok(quantities)
}

/// A quantity for the product at `pos` of `offering`: a non-negative number
/// within the product's bounds.
fn quantity(catalog: &Catalog, offering: &Offering, pos: usize, v: &Value, path: &Path<'_>) -> Result<Decimal> {
    let q = DOC.decimal(v, path)?;
    if q.is_sign_negative() {
        return Err(DOC.invalid(path, "quantity must not be negative"));
    }
    let product = offering.products.get(pos).and_then(|p| catalog.products.get(*p)).ok_or_else(|| overflow(path))?;
    if !product.allows(q) {
        let max = product.max_quantity.map_or_else(|| "no limit".to_owned(), |m| m.to_string());
        return Err(Error::new(
            ErrorCode::QuantityOutOfRange,
            path.render(),
            format!("quantity {q} of '{}' is outside [{}, {max}]", product.id, product.min_quantity),
        ));
    }
    Ok(q)
}
