//! Steps several use cases share: each a module of its own, called by use
//! cases (never by each other's callers' handlers), none importing a use case.

pub mod account_view;
pub mod billing;
pub mod cards;
pub mod catalogs;
pub mod change;
pub mod charging;
pub mod claims;
pub mod collection;
pub mod contract_view;
pub mod credit;
pub mod documents;
pub mod pages;
pub mod promotion;
pub mod resumption;
pub mod signup;
pub mod suspension;
pub mod usage;
