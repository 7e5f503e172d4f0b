use std::str::FromStr;

use rust_decimal::Decimal;

use super::{PriceModel, Tier, TierTable};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// (0,10]@5, (10,50]@4 + flat 10, (50,∞)@3 + flat 20: the shared vectors' table.
fn table() -> TierTable {
    TierTable::new(vec![
        Tier { up_to: Some(d("10")), unit_amount: d("5"), flat_amount: d("0") },
        Tier { up_to: Some(d("50")), unit_amount: d("4"), flat_amount: d("10") },
        Tier { up_to: None, unit_amount: d("3"), flat_amount: d("20") },
    ])
    .unwrap()
}

fn stairs() -> TierTable {
    TierTable::new(vec![
        Tier { up_to: Some(d("5")), unit_amount: d("0"), flat_amount: d("50") },
        Tier { up_to: Some(d("20")), unit_amount: d("0"), flat_amount: d("150") },
        Tier { up_to: None, unit_amount: d("0"), flat_amount: d("400") },
    ])
    .unwrap()
}

fn price(m: &PriceModel, q: &str) -> Decimal {
    m.price(d(q)).unwrap()
}

#[test]
fn flat_charges_its_amount_for_any_positive_quantity_and_nothing_at_zero() {
    let m = PriceModel::Flat { amount: d("49.99") };
    assert_eq!(price(&m, "3"), d("49.99"));
    assert_eq!(price(&m, "0.001"), d("49.99"));
    assert_eq!(price(&m, "0"), d("0"));
}

#[test]
fn per_unit_multiplies_the_unit_amount_by_a_fractional_quantity_exactly() {
    let m = PriceModel::PerUnit { unit_amount: d("0.023") };
    assert_eq!(price(&m, "1536.5"), d("35.3395"));
}

#[test]
fn tiered_charges_each_tier_for_the_units_inside_it() {
    let m = PriceModel::Tiered(table());
    assert_eq!(price(&m, "60"), d("270"));
    assert_eq!(price(&m, "0"), d("0"));
    assert_eq!(price(&m, "1"), d("5"));
}

#[test]
fn tiered_does_not_charge_the_next_tiers_flat_amount_when_q_sits_on_an_up_to() {
    let m = PriceModel::Tiered(table());
    assert_eq!(price(&m, "10"), d("50"));
    assert_eq!(price(&m, "10.5"), d("50") + d("2") + d("10"));
}

#[test]
fn volume_prices_every_unit_at_the_tier_holding_the_quantity() {
    let m = PriceModel::Volume(table());
    assert_eq!(price(&m, "60"), d("200"));
    assert_eq!(price(&m, "50"), d("210"));
    assert_eq!(price(&m, "51"), d("173"));
    assert_eq!(price(&m, "0"), d("0"));
}

#[test]
fn stairstep_charges_the_flat_amount_of_the_tier_holding_the_quantity() {
    let m = PriceModel::Stairstep(stairs());
    assert_eq!(price(&m, "6"), d("150"));
    assert_eq!(price(&m, "5"), d("50"));
    assert_eq!(price(&m, "1000"), d("400"));
    assert_eq!(price(&m, "0"), d("0"));
}

#[test]
fn package_charges_every_started_package() {
    let m = PriceModel::Package { size: d("10"), amount: d("25") };
    assert_eq!(price(&m, "23"), d("75"));
    assert_eq!(price(&m, "20"), d("50"));
    assert_eq!(price(&m, "0.1"), d("25"));
    assert_eq!(price(&m, "0"), d("0"));
}

#[test]
fn explain_lists_each_charging_tier_and_sums_to_the_price() {
    let m = PriceModel::Tiered(table());
    let parts = m.explain(d("60")).unwrap();
    let units: Vec<_> = parts.iter().map(|p| p.units).collect();
    assert_eq!(units, vec![d("10"), d("40"), d("10")]);
    let amounts: Vec<_> = parts.iter().map(|p| p.amount).collect();
    assert_eq!(amounts, vec![d("50"), d("170"), d("50")]);
    assert_eq!(parts.get(1).unwrap().from, d("10"));
}

#[test]
fn explain_of_a_single_tier_model_names_the_tier_it_used() {
    let parts = PriceModel::Volume(table()).explain(d("50")).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts.first().unwrap().tier, Some(1));
}

#[test]
fn a_product_too_large_for_a_decimal_is_none_not_a_panic() {
    let m = PriceModel::PerUnit { unit_amount: Decimal::MAX };
    assert_eq!(m.price(d("2")), None);
    let m = PriceModel::Package { size: d("0.0000000000000000000000000001"), amount: d("1") };
    assert_eq!(m.price(Decimal::MAX), None);
}

#[test]
fn a_tier_table_must_ascend_and_end_open() {
    let t = |u: &[Option<&str>]| {
        TierTable::new(u.iter().map(|x| Tier { up_to: x.map(d), unit_amount: d("1"), flat_amount: d("0") }).collect())
    };
    assert!(t(&[Some("10"), None]).is_ok());
    assert_eq!(t(&[]).unwrap_err().0, 0);
    assert_eq!(t(&[Some("10"), Some("20"), Some("15"), None]).unwrap_err().0, 2);
    assert_eq!(t(&[Some("10"), Some("20")]).unwrap_err().0, 1);
    assert_eq!(t(&[None, None]).unwrap_err().0, 0);
    assert_eq!(t(&[Some("0"), None]).unwrap_err().0, 0);
    assert_eq!(t(&[Some("10"), Some("10"), None]).unwrap_err().0, 1);
}
