//! One use case per module, each read top to bottom as: load what it needs
//! (`store`), let the engine decide every amount (`pricing`), claim what it
//! will change, call Stripe, write the outcome as one batch, build the view.
//! No use case imports another: what several share is in `steps`.

pub mod billing_run;
pub mod change_contract;
pub mod contract_usage;
pub mod customer_token;
pub mod find_accounts;
pub mod health;
pub mod import_contract;
pub mod list_contracts;
pub mod list_invoices;
pub mod payment_method;
pub mod portal_token;
pub mod promotion_code;
pub mod publish_catalog;
pub mod read_account;
pub mod read_catalog;
pub mod read_contract;
pub mod read_invoice;
pub mod read_quote;
pub mod read_signup;
pub mod report_usage;
pub mod reprice_contract;
pub mod review_amendment;
pub mod self_service_config;
pub mod setup_intent;
pub mod start_signup;
pub mod store_usage;
pub mod stripe_webhook;
pub mod update_account;
pub mod update_signup;
pub mod withdraw_amendment;
