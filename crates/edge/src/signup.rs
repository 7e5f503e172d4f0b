//! The Sign-Up API's eight actions over the session store, the engine and Stripe.

use pricing::{Address, Catalog, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::api::{ApiError, ApiResult};
use crate::catalogs::{self, Published};
use crate::db::{Db, DbError, Stmt};
use crate::ids::{Random, new_id};
use crate::input::{Action, PaymentMethodInput, SignUpInput};
use crate::records::{InvoiceFigures, InvoiceHead, Payment, engine_json, insert_invoice, invoice_view};
use crate::session::{Session, Status, check_transition, claim_expired, seconds_since};
use crate::stripe::{Charge, Stripe, StripeError};
use crate::{App, Now, stmt};

/// A successful answer: status and body.
pub type Answer = (u16, Value);

/// What FINALIZE charges for `quote` (the package's `dueAtSignUp`): its first
/// invoice with the tax of `customer.billingAddress`; `None` without an address.
fn due_at_signup(catalog: &Catalog, quote: &pricing::Quote, customer: Option<&Value>) -> ApiResult<Option<Value>> {
    let Some(address) = customer.and_then(|c| c.get("billingAddress")).filter(|a| a.is_object()) else {
        return Ok(None);
    };
    let invoice = quote
        .first_invoice
        .with_tax(catalog, &Address::from_json(address))
        .map_err(|e| ApiError::from_engine(&e, ""))?;
    Ok(Some(engine_json(&invoice)))
}

fn price(catalog: &Catalog, quote: &Value, today: NaiveDate) -> ApiResult<pricing::Quote> {
    pricing::estimate(catalog, &json!({ "quote": quote }), today).map_err(|e| ApiError::from_engine(&e, ""))
}

pub(crate) fn stripe_error(e: StripeError, token_path: &str) -> ApiError {
    match e {
        StripeError::Unavailable(_) => ApiError::new(
            502,
            "PAYMENT_PROVIDER_UNAVAILABLE",
            "",
            "The payment provider (Stripe) could not be reached or failed; nothing was changed. Retry the request.",
        ),
        StripeError::Declined { message, .. } => ApiError::new(402, "PAYMENT_DECLINED", "paymentMethod", message),
        StripeError::Rejected { message, .. } => {
            ApiError::bad("INVALID_PAYMENT_TOKEN", token_path, format!("Stripe refused the payment token: {message}"))
        }
    }
}

/// `{autoEmailInvoice, collectInvoiceBalanceAutomatically}` with the catalog's defaults filled in.
fn bill_group(catalog: &Catalog, given: Option<&Value>) -> Value {
    let pick = |key: &str, default: bool| given.and_then(|g| g.get(key)).and_then(Value::as_bool).unwrap_or(default);
    json!({
        "autoEmailInvoice": pick("autoEmailInvoice", catalog.bill_group.auto_email_invoice),
        "collectInvoiceBalanceAutomatically":
            pick("collectInvoiceBalanceAutomatically", catalog.bill_group.collect_automatically),
    })
}

/// How long after FINALIZE the session may be exchanged for a portal token.
pub const PORTAL_WINDOW_SECONDS: i64 = 3_600;

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// The resume link: built from configuration only (`SIGNUP_URL_BASE`),
    /// never from a request header an attacker could set. Unconfigured, it is
    /// the path on the Worker's own origin, where it serves the pages.
    fn signup_url(&self, id: &str) -> String {
        let base = self.config.signup_url_base.as_deref().unwrap_or("").trim_end_matches('/');
        format!("{base}/checkout/?session={id}")
    }

    async fn catalog_of(&self, version: i64) -> ApiResult<(Published, Catalog)> {
        let p = catalogs::version(&self.db, version).await?.ok_or_else(ApiError::internal)?;
        let c = p.parse()?;
        Ok((p, c))
    }

    async fn current_catalog(&self) -> ApiResult<(Published, Catalog)> {
        let p = catalogs::require_current(&self.db).await?;
        let c = p.parse()?;
        Ok((p, c))
    }

    /// `POST /api/selfService/signup`.
    pub async fn signup_post(&self, input: SignUpInput, now: &Now) -> ApiResult<Answer> {
        match input.action {
            Action::Estimate => {
                let quote = input.quote.as_ref().ok_or_else(|| missing("quote"))?;
                let (published, catalog) = self.current_catalog().await?;
                let q = price(&catalog, quote, now.today)?;
                let mut body = Map::new();
                body.insert("sessionId".into(), Value::Null);
                body.insert("error".into(), json!(false));
                body.insert("action".into(), json!("ESTIMATE"));
                body.insert("catalogVersion".into(), json!(published.version));
                body.insert("quote".into(), engine_json(&q));
                if let Some(due) = due_at_signup(&catalog, &q, input.customer.as_ref())? {
                    body.insert("dueAtSignUp".into(), due);
                }
                Ok((200, Value::Object(body)))
            }
            a if a.creates() => self.create(input, now).await,
            a => Err(ApiError::bad(
                "INVALID_ACTION",
                "action",
                format!("{} needs a session: PATCH /api/selfService/signup/{{sessionId}}.", a.as_str()),
            )),
        }
    }

    async fn create(&self, input: SignUpInput, now: &Now) -> ApiResult<Answer> {
        let customer = input.customer.clone().ok_or_else(|| missing("customer"))?;
        let quote_request = input.quote.clone().ok_or_else(|| missing("quote"))?;
        if input.action == Action::CreateAndFinalize && input.payment_method.is_some() {
            return Err(ApiError::bad(
                "INVALID_FIELD",
                "paymentMethod",
                "CREATE_AND_FINALIZE takes no payment method; use CREATE_WITH_PAYMENT_METHOD, then FINALIZE.",
            ));
        }
        let (published, catalog) = self.current_catalog().await?;
        let quote = price(&catalog, &quote_request, now.today)?;
        let mut s = Session {
            id: new_id(&self.rng, "cart_"),
            version: 1,
            status: Some(Status::Open),
            catalog_version: published.version,
            bill_group: Some(bill_group(&catalog, input.bill_group.as_ref())),
            quote_custom_id: quote_request.get("customId").and_then(Value::as_str).map(str::to_owned),
            quote_request: Some(quote_request),
            quote: Some(engine_json(&quote)),
            quote_id: new_id(&self.rng, "quo_"),
            customer: Some(customer),
            account_id: new_id(&self.rng, "acct_"),
            contact_id: new_id(&self.rng, "cont_"),
            created_at: now.instant.clone(),
            updated_at: now.instant.clone(),
            ..Session::default()
        };
        match input.action {
            Action::CreateAndFinalize => {
                check_custom_id(&self.db, &s).await?;
                let (s, extra) = self.finalize_records(s, &catalog, &quote, None, now)?;
                self.write(s.finalize_batch.clone()).await.map_err(|e| self.claim_error(e, &s.session))?;
                let url = self.signup_url(&s.session.id);
                let body = s.session.view("CREATE_AND_FINALIZE", &url, self.stripe.publishable_key(), extra);
                Ok((201, body))
            }
            Action::CreateWithPaymentMethod => {
                self.init_payment(&mut s).await?;
                self.write(s.save("CREATE_WITH_PAYMENT_METHOD")).await?;
                Ok((201, self.view(&s, "CREATE_WITH_PAYMENT_METHOD", now).await?))
            }
            _ => {
                self.write(s.save("CREATE_IN_PENDING")).await?;
                Ok((201, self.view(&s, "CREATE_IN_PENDING", now).await?))
            }
        }
    }

    async fn write(&self, stmts: Vec<Stmt>) -> Result<(), DbError> {
        self.db.batch(stmts).await
    }

    /// A Stripe customer (once per session) and a new SetupIntent.
    async fn init_payment(&self, s: &mut Session) -> ApiResult<()> {
        let customer = match &s.stripe_customer_id {
            Some(c) => c.clone(),
            None => {
                let c = s.customer.as_ref().ok_or_else(|| missing("customer"))?;
                let id = self
                    .stripe
                    .create_customer(
                        &format!("{}/customer", s.id),
                        field(c, "name"),
                        field(c, "email"),
                        &[("quotekit_session", &s.id), ("quotekit_account", &s.account_id)],
                    )
                    .await
                    .map_err(|e| stripe_error(e, "paymentMethod"))?;
                s.stripe_customer_id = Some(id.clone());
                id
            }
        };
        let seti = self
            .stripe
            .create_setup_intent(&format!("{}/seti/{}", s.id, s.version), &customer)
            .await
            .map_err(|e| stripe_error(e, "paymentMethod"))?;
        s.setup_intent_id = Some(seti.id);
        s.setup_client_secret = Some(seti.client_secret);
        s.payment_method_id = None;
        s.payment_method_name = None;
        s.payment_method_card = None;
        Ok(())
    }

    /// Confirms with Stripe that the token is a succeeded SetupIntent (or a
    /// PaymentMethod) of this session's customer, attaches it and makes it the default.
    async fn save_payment_method(&self, s: &mut Session, pm: &PaymentMethodInput) -> ApiResult<()> {
        let customer = s.stripe_customer_id.clone().ok_or_else(|| {
            ApiError::conflict(
                "PAYMENT_METHOD_NOT_INITIALIZED",
                "This session has no payment method collection yet: use INIT_PAYMENT_METHOD first.",
            )
        })?;
        let method = self.confirm_payment_token(&customer, &pm.token, &s.id, "paymentMethod.paymentToken").await?;
        s.payment_method_id = Some(method.id);
        s.payment_method_name = pm.name.clone().or_else(|| method.brand.clone());
        s.payment_method_card = Some(json!({ "brand": method.brand, "last4": method.last4 }));
        s.last_error = None;
        Ok(())
    }

    /// Confirms with Stripe that `token` is a succeeded SetupIntent (or a
    /// PaymentMethod) of `customer`, attaches it and makes it the default.
    /// `scope` makes the Stripe idempotency keys; `path` names the field in errors.
    pub(crate) async fn confirm_payment_token(
        &self,
        customer: &str,
        token: &str,
        scope: &str,
        path: &str,
    ) -> ApiResult<crate::stripe::PaymentMethod> {
        let not_ours =
            || ApiError::bad("PAYMENT_TOKEN_NOT_OWNED", path, "The payment token belongs to another Stripe customer.");
        let pm_id = if token.starts_with("seti_") {
            let seti = self.stripe.setup_intent(token).await.map_err(|e| stripe_error(e, path))?;
            if seti.customer.as_deref() != Some(customer) {
                return Err(not_ours());
            }
            if seti.status != "succeeded" {
                return Err(ApiError::bad(
                    "PAYMENT_METHOD_NOT_CONFIRMED",
                    path,
                    format!(
                        "The SetupIntent is '{}', not 'succeeded': confirm the card with Stripe.js first.",
                        seti.status
                    ),
                ));
            }
            seti.payment_method.ok_or_else(|| {
                ApiError::bad("PAYMENT_METHOD_NOT_CONFIRMED", path, "The SetupIntent has no payment method.")
            })?
        } else {
            token.to_owned()
        };
        let mut method = self.stripe.payment_method(&pm_id).await.map_err(|e| stripe_error(e, path))?;
        match method.customer.as_deref() {
            Some(c) if c == customer => {}
            Some(_) => return Err(not_ours()),
            None => {
                method = self
                    .stripe
                    .attach(&format!("{scope}/attach/{pm_id}"), &pm_id, customer)
                    .await
                    .map_err(|e| stripe_error(e, path))?;
            }
        }
        self.stripe
            .set_default(&format!("{scope}/default/{pm_id}"), customer, &pm_id)
            .await
            .map_err(|e| stripe_error(e, path))?;
        Ok(method)
    }

    /// Applies what an UPDATE-like request carries to `s` (in memory; on
    /// Stripe, a new name or email for a customer already there, so its
    /// receipts go where the customer now says).
    async fn apply(&self, s: &mut Session, input: &SignUpInput, now: &Now) -> ApiResult<()> {
        if let Some(c) = &input.customer {
            let (name, email) = (field(c, "name"), field(c, "email"));
            let before = s.customer.as_ref().map(|b| (field(b, "name"), field(b, "email")));
            if let Some(id) = &s.stripe_customer_id
                && before.as_ref() != Some(&(name, email))
            {
                let scope = format!("{}/customer/{}", s.id, s.version);
                self.push_customer(&scope, id, name, email, "customer.email").await?;
            }
            s.customer = Some(c.clone());
        }
        if let Some(q) = &input.quote {
            let (published, catalog) = self.current_catalog().await?;
            let quote = price(&catalog, q, now.today)?;
            s.catalog_version = published.version;
            s.quote_request = Some(q.clone());
            s.quote = Some(engine_json(&quote));
            s.quote_id = new_id(&self.rng, "quo_");
            s.quote_custom_id = q.get("customId").and_then(Value::as_str).map(str::to_owned);
            let given = input.bill_group.as_ref().or(s.bill_group.as_ref()).cloned();
            s.bill_group = Some(bill_group(&catalog, given.as_ref()));
        } else if let Some(b) = &input.bill_group {
            let (_, catalog) = self.catalog_of(s.catalog_version).await?;
            s.bill_group = Some(bill_group(&catalog, Some(b)));
        }
        if let Some(pm) = &input.payment_method {
            self.save_payment_method(s, pm).await?;
        }
        Ok(())
    }

    /// Sends a customer's name and email to its Stripe customer. Keyed by
    /// `scope` and what is sent: a retry is the same request, other details
    /// after a failed write a new one (Stripe refuses a key reused with other
    /// parameters). Unreachable: 502; refused: 400 at `email_path`.
    pub(crate) async fn push_customer(
        &self,
        scope: &str,
        id: &str,
        name: &str,
        email: &str,
        email_path: &str,
    ) -> ApiResult<()> {
        let sent: String =
            Sha256::digest(format!("{name}\n{email}")).iter().take(8).map(|b| format!("{b:02x}")).collect();
        self.stripe.update_customer(&format!("{scope}/{sent}"), id, name, email).await.map_err(|e| match e {
            StripeError::Rejected { message, .. } => {
                ApiError::bad("INVALID_VALUE", email_path, format!("Stripe refused the customer's details: {message}"))
            }
            e => stripe_error(e, ""),
        })
    }

    /// `PATCH /api/selfService/signup/{id}`. Every error names the session.
    pub async fn signup_patch(&self, id: &str, input: SignUpInput, now: &Now) -> ApiResult<Answer> {
        self.patch_session(id, input, now).await.map_err(|e| e.for_session(id))
    }

    async fn patch_session(&self, id: &str, input: SignUpInput, now: &Now) -> ApiResult<Answer> {
        let read = Session::require(&self.db, id).await?;
        let stale = read.status() == Status::Finalizing && claim_expired(&read.updated_at, now);
        check_transition(read.status(), input.action, stale)?;
        let mut s = read.next(&now.instant);
        s.status = Some(Status::Open);
        match input.action {
            Action::Estimate => self.estimate_session(&read, &input, now).await,
            Action::Cancel => {
                s.status = Some(Status::Canceled);
                self.write(s.save("CANCEL")).await?;
                Ok((200, self.view(&s, "CANCEL", now).await?))
            }
            Action::Update => {
                if input.customer.is_none()
                    && input.quote.is_none()
                    && input.bill_group.is_none()
                    && input.payment_method.is_none()
                {
                    return Err(ApiError::bad(
                        "MISSING_FIELD",
                        "",
                        "UPDATE carries at least one of customer, billGroup, quote, paymentMethod.",
                    ));
                }
                self.apply(&mut s, &input, now).await?;
                let action = if input.payment_method.is_some() { "ADD_PAYMENT_METHOD" } else { "UPDATE" };
                self.write(s.save(action)).await?;
                Ok((200, self.view(&s, action, now).await?))
            }
            Action::InitPaymentMethod => {
                self.apply(&mut s, &input, now).await?;
                self.init_payment(&mut s).await?;
                self.write(s.save("INIT_PAYMENT_METHOD")).await?;
                Ok((200, self.view(&s, "INIT_PAYMENT_METHOD", now).await?))
            }
            Action::Finalize => {
                self.apply(&mut s, &input, now).await?;
                self.finalize(s, now).await
            }
            _ => Err(ApiError::internal()),
        }
    }

    async fn estimate_session(&self, s: &Session, input: &SignUpInput, now: &Now) -> ApiResult<Answer> {
        let (published, catalog) = match &input.quote {
            Some(_) => self.current_catalog().await?,
            None => self.catalog_of(s.catalog_version).await?,
        };
        let quote = input.quote.as_ref().or(s.quote_request.as_ref()).ok_or_else(|| missing("quote"))?;
        let q = price(&catalog, quote, now.today)?;
        let mut body = json!({
            "sessionId": s.id, "error": false, "action": "ESTIMATE",
            "catalogVersion": published.version, "quote": engine_json(&q),
        });
        let customer = input.customer.as_ref().or(s.customer.as_ref());
        if let (Some(due), Value::Object(m)) = (due_at_signup(&catalog, &q, customer)?, &mut body) {
            m.insert("dueAtSignUp".into(), due);
        }
        Ok((200, body))
    }

    /// FINALIZE on an open session `s` (the next version, carried fields applied).
    async fn finalize(&self, mut s: Session, now: &Now) -> ApiResult<Answer> {
        if s.customer.is_none() {
            return Err(missing("customer"));
        }
        let quote_request = s.quote_request.clone().ok_or_else(|| missing("quote"))?;
        let (_, catalog) = self.catalog_of(s.catalog_version).await?;
        let quote = price(&catalog, &quote_request, now.today)?;
        s.quote = Some(engine_json(&quote));
        let address =
            Address::from_json(s.customer.as_ref().and_then(|c| c.get("billingAddress")).unwrap_or(&Value::Null));
        let invoice = quote.first_invoice.with_tax(&catalog, &address).map_err(|e| ApiError::from_engine(&e, ""))?;
        let must_charge = s.collects_automatically() && invoice.amount > Decimal::ZERO;
        check_custom_id(&self.db, &s).await?;
        if !must_charge {
            let (f, extra) = self.finalize_records(s, &catalog, &quote, None, now)?;
            self.write(f.finalize_batch.clone()).await.map_err(|e| self.claim_error(e, &f.session))?;
            return Ok((200, self.view_with(&f.session, "FINALIZE", extra)));
        }
        let (pm, customer) = match (&s.payment_method_id, &s.stripe_customer_id) {
            (Some(pm), Some(c)) => (pm.clone(), c.clone()),
            _ => {
                return Err(ApiError::bad(
                    "PAYMENT_METHOD_REQUIRED",
                    "paymentMethod",
                    "This bill group collects automatically and the first invoice is due: save a payment method first.",
                ));
            }
        };
        // Claim the session (and its customId) before any money moves.
        s.status = Some(Status::Finalizing);
        let mut claim = s.save("FINALIZE_STARTED");
        claim.extend(claim_custom_id(&s));
        self.write(claim).await.map_err(|e| self.claim_error(e, &s))?;

        let currency = quote.currency.to_ascii_lowercase();
        let charge = Charge {
            customer: &customer,
            payment_method: &pm,
            amount: pricing::to_minor_units(invoice.amount, quote.currency).ok_or_else(ApiError::internal)?,
            currency,
            metadata: vec![("quotekit_session", s.id.clone()), ("quotekit_account", s.account_id.clone())],
        };
        let idem = format!("{}/charge/{}", s.id, s.charge_attempts);
        match self.charge_once(&idem, &charge, now).await {
            Ok(pi) => {
                let (f, extra) = self.finalize_records(s, &catalog, &quote, Some(&pi.id), now)?;
                self.write(f.finalize_batch.clone()).await?;
                Ok((200, self.view_with(&f.session, "FINALIZE", extra)))
            }
            Err(e) => {
                let mut back = s.next(&now.instant);
                back.status = Some(Status::Open);
                let error = match &e {
                    StripeError::Declined { code, decline_code, message } => {
                        // A declined card is spent: the next attempt uses a new key and needs a new card.
                        back.charge_attempts = back.charge_attempts.saturating_add(1);
                        back.payment_method_id = None;
                        back.payment_method_card = None;
                        back.payment_method_name = None;
                        back.setup_intent_id = None;
                        back.setup_client_secret = None;
                        json!({ "code": "PAYMENT_DECLINED", "stripeCode": code, "declineCode": decline_code,
                                "message": message, "at": now.instant })
                    }
                    _ => json!({ "code": "PAYMENT_PROVIDER_UNAVAILABLE",
                                 "message": "The payment provider could not be reached; retry FINALIZE.", "at": now.instant }),
                };
                back.last_error = Some(error);
                let mut stmts = back.save("PAYMENT_FAILED");
                stmts.extend(release_custom_id(&back));
                self.write(stmts).await?;
                Err(match e {
                    StripeError::Rejected { .. } => ApiError::new(
                        502,
                        "PAYMENT_PROVIDER_ERROR",
                        "",
                        "The payment provider refused the charge request; nothing was created. Retry, or contact support.",
                    ),
                    other => stripe_error(other, "paymentMethod"),
                })
            }
        }
    }

    fn claim_error(&self, e: DbError, s: &Session) -> ApiError {
        match e {
            DbError::Conflict(m) if m.contains("custom_id") && custom_id(s).is_some() => custom_id_taken(),
            other => ApiError::from(other),
        }
    }

    /// Builds everything FINALIZE creates, as one batch, and the answer's parts.
    fn finalize_records(
        &self,
        mut s: Session,
        catalog: &Catalog,
        quote: &pricing::Quote,
        payment_intent: Option<&str>,
        now: &Now,
    ) -> ApiResult<(Finalized, Map<String, Value>)> {
        let at = now.instant.as_str();
        // A claimed session was saved as FINALIZING: this is the version after.
        let claimed = s.status() == Status::Finalizing;
        if claimed {
            s = s.next(at);
        }
        let event = if s.version == 1 { "CREATE_AND_FINALIZE" } else { "FINALIZED" };
        s.status = Some(Status::Finalized);
        s.last_error = None;
        let customer = s.customer.clone().unwrap_or(Value::Null);
        let address = Address::from_json(customer.get("billingAddress").unwrap_or(&Value::Null));
        let invoice = quote.first_invoice.with_tax(catalog, &address).map_err(|e| ApiError::from_engine(&e, ""))?;
        let bill_group_id = new_id(&self.rng, "bg_");
        let contract_id = new_id(&self.rng, "ctr_");
        let invoice_id = new_id(&self.rng, "inv_");
        let currency = quote.currency;
        let str_of = |k: &str| customer.get(k).and_then(Value::as_str).map(str::to_owned);

        let mut contract = engine_json(&quote.to_contract(&contract_id));
        if let Value::Object(m) = &mut contract {
            m.insert("accountId".into(), json!(s.account_id));
            m.insert("billGroupId".into(), json!(bill_group_id));
            m.insert("quoteId".into(), json!(s.quote_id));
            m.insert("catalogVersion".into(), json!(s.catalog_version));
        }
        let paid = payment_intent.is_some();
        let amount_due = if paid { Decimal::ZERO } else { invoice.amount };
        let bill = s.bill_group.clone().unwrap_or_else(|| bill_group(catalog, None));
        let flag = |k: &str| bill.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mut batch = Vec::new();
        if !claimed {
            batch.extend(claim_custom_id(&s));
        }
        batch.push(stmt!(
            "INSERT INTO accounts (id, custom_id, name, currency, billing_address, stripe_customer_id, \
             default_payment_method_id, session_id, created_at, custom_id_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            s.account_id.as_str(),
            custom_id(&s),
            str_of("accountName").unwrap_or_default(),
            currency,
            customer.get("billingAddress").map(Value::to_string),
            s.stripe_customer_id.clone(),
            s.payment_method_id.clone(),
            s.id.as_str(),
            at,
            custom_id_key(&s)
        ));
        batch.push(stmt!(
            "INSERT INTO contacts (id, account_id, name, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            s.contact_id.as_str(),
            s.account_id.as_str(),
            str_of("name").unwrap_or_default(),
            str_of("email").unwrap_or_default(),
            at
        ));
        let mut payment_method_row = None;
        if let Some(pm) = &s.payment_method_id {
            let id = new_id(&self.rng, "pmt_");
            batch.push(stmt!(
                "INSERT INTO payment_methods (id, account_id, stripe_payment_method_id, name, card, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                id.as_str(),
                s.account_id.as_str(),
                pm.as_str(),
                s.payment_method_name.clone(),
                s.payment_method_card.as_ref().map(Value::to_string),
                at
            ));
            payment_method_row = Some(id);
        }
        batch.push(stmt!(
            "INSERT INTO bill_groups (id, account_id, currency, auto_email_invoice, collect_automatically, \
             payment_method_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            bill_group_id.as_str(),
            s.account_id.as_str(),
            currency,
            flag("autoEmailInvoice"),
            flag("collectInvoiceBalanceAutomatically"),
            payment_method_row.clone(),
            at
        ));
        s.bill_group_id = Some(bill_group_id.clone());
        s.contract_id = Some(contract_id.clone());
        // No invoice without lines (an IN_ARREARS or trial sign-up owes nothing today).
        let issued = !invoice.lines.is_empty();
        s.invoice_id = issued.then(|| invoice_id.clone());
        let quote_view = s.quote_view().unwrap_or(Value::Null);
        batch.push(stmt!(
            "INSERT INTO quotes (id, account_id, session_id, custom_id, status, catalog_version, body, created_at) \
             VALUES (?1, ?2, ?3, ?4, 'PROCESSED', ?5, ?6, ?7)",
            s.quote_id.as_str(),
            s.account_id.as_str(),
            s.id.as_str(),
            s.quote_custom_id.clone(),
            s.catalog_version,
            quote_view.to_string(),
            at
        ));
        batch.push(stmt!(
            "INSERT INTO contracts (id, account_id, bill_group_id, quote_id, catalog_version, status, body, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'ACTIVE', ?6, ?7)",
            contract_id.as_str(),
            s.account_id.as_str(),
            bill_group_id.as_str(),
            s.quote_id.as_str(),
            s.catalog_version,
            contract.to_string(),
            at
        ));
        let head = InvoiceHead {
            id: &invoice_id,
            status: if paid { "PAID" } else { "OPEN" },
            currency,
            account_id: &s.account_id,
            contract_id: &contract_id,
            bill_group_id: &bill_group_id,
            credit_applied: Decimal::ZERO,
            amount_due,
            at,
        };
        let invoice_json = invoice_view(&self.rng, &invoice, &head);
        if issued {
            batch.push(insert_invoice(&InvoiceFigures::of(&invoice), &head, &invoice_json));
        }
        let mut extra = Map::new();
        extra.insert("billGroup".into(), {
            let mut b = bill.clone();
            if let Value::Object(o) = &mut b {
                o.insert("id".into(), json!(bill_group_id));
            }
            b
        });
        extra.insert("contract".into(), contract);
        if issued {
            extra.insert("invoice".into(), invoice_json);
        }
        if let Some(pi) = payment_intent.filter(|_| issued) {
            let payment_id = new_id(&self.rng, "pay_");
            let payment = Payment {
                id: &payment_id,
                account_id: &s.account_id,
                invoice_id: &invoice_id,
                amount: invoice.amount,
                currency,
                payment_intent: pi,
                at,
            };
            batch.push(payment.insert());
            extra.insert("payment".into(), payment.view());
            s.payment_id = Some(payment_id);
        }
        // The session row last, so it carries every id just assigned.
        let mut final_batch = s.save(event);
        final_batch.extend(batch);
        Ok((Finalized { session: s, finalize_batch: final_batch }, extra))
    }

    /// A session as answered: once finalized, what it created; before, with
    /// an address, what FINALIZE will charge today (`dueAtSignUp`, taxed).
    async fn view(&self, s: &Session, action: &str, now: &Now) -> ApiResult<Value> {
        let mut extra = if s.status() == Status::Finalized { self.finalized_parts(s).await? } else { Map::new() };
        if s.status() == Status::Open
            && let Some(quote) = &s.quote_request
            && s.customer.as_ref().and_then(|c| c.get("billingAddress")).is_some_and(Value::is_object)
        {
            let (_, catalog) = self.catalog_of(s.catalog_version).await?;
            // Priced as FINALIZE would price it today; a quote that no longer prices (its
            // start date passed) has nothing to show here and is refused by FINALIZE.
            if let Ok(q) = price(&catalog, quote, now.today)
                && let Some(due) = due_at_signup(&catalog, &q, s.customer.as_ref())?
            {
                extra.insert("dueAtSignUp".into(), due);
            }
        }
        Ok(self.view_with(s, action, extra))
    }

    fn view_with(&self, s: &Session, action: &str, extra: Map<String, Value>) -> Value {
        s.view(action, &self.signup_url(&s.id), self.stripe.publishable_key(), extra)
    }

    /// The contract, invoice and payment a finalized session created.
    async fn finalized_parts(&self, s: &Session) -> ApiResult<Map<String, Value>> {
        let mut m = Map::new();
        if let Some(id) = &s.contract_id {
            let rows = self.db.query(stmt!("SELECT body FROM contracts WHERE id = ?1", id.as_str())).await?;
            if let Some(v) = rows.first().and_then(|r| crate::db::json(r, "body")) {
                m.insert("contract".into(), v);
            }
        }
        if let Some(id) = &s.invoice_id {
            let rows = self
                .db
                .query(stmt!("SELECT body, status, amount_due FROM invoices WHERE id = ?1", id.as_str()))
                .await?;
            if let Some(r) = rows.first()
                && let Some(mut v) = crate::db::json(r, "body")
            {
                if let (Value::Object(o), Some(st)) = (&mut v, crate::db::text(r, "status")) {
                    o.insert("status".into(), json!(st));
                }
                m.insert("invoice".into(), v);
            }
        }
        if let Some(id) = &s.payment_id {
            let rows = self.db.query(stmt!("SELECT * FROM payments WHERE id = ?1", id.as_str())).await?;
            if let Some(r) = rows.first() {
                m.insert("payment".into(), crate::records::payment_row_view(r));
            }
        }
        Ok(m)
    }

    /// The account a session created, for a portal token: only for a
    /// FINALIZED session, and only within `PORTAL_WINDOW_SECONDS` of its
    /// finalization (whoever holds the session id just signed up).
    pub async fn finalized_account(&self, id: &str, now: &Now) -> ApiResult<String> {
        let s = Session::require(&self.db, id).await?;
        if s.status() != Status::Finalized {
            return Err(ApiError::new(
                409,
                "SESSION_NOT_FINALIZED",
                "sessionId",
                "A portal token is issued only for a finalized session.",
            ));
        }
        if seconds_since(&s.updated_at, now).ok_or_else(ApiError::internal)? > PORTAL_WINDOW_SECONDS {
            return Err(ApiError::new(
                403,
                "PORTAL_WINDOW_CLOSED",
                "sessionId",
                "This session was finalized over an hour ago; ask the vendor for a portal link.",
            ));
        }
        Ok(s.account_id)
    }

    /// `GET /api/selfService/signup/{id}`.
    /// `GET` of a session. With the publishable key (public, in every page), a
    /// session finalized longer ago than its portal window answers only its
    /// status and step: the customer's details, contract and invoice are no
    /// longer for anyone holding the link (the secret key still sees them).
    pub async fn signup_get(&self, id: &str, publishable: bool, now: &Now) -> ApiResult<Value> {
        let s = Session::require(&self.db, id).await?;
        let closed = s.status() == Status::Finalized
            && seconds_since(&s.updated_at, now).is_none_or(|t| t > PORTAL_WINDOW_SECONDS);
        if publishable && closed {
            return Ok(json!({
                "sessionId": s.id, "error": false, "action": "GET", "status": s.status().as_str(),
                "step": s.step(), "urls": { "signup": self.signup_url(&s.id) },
            }));
        }
        self.view(&s, "GET", now).await
    }
}

/// What FINALIZE writes.
struct Finalized {
    session: Session,
    finalize_batch: Vec<Stmt>,
}

/// A text field of a JSON object, or "".
fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn missing(field: &str) -> ApiError {
    ApiError::bad("MISSING_FIELD", field, format!("{field} is required for this action."))
}

fn custom_id(s: &Session) -> Option<String> {
    s.customer.as_ref().and_then(|c| c.get("customId")).and_then(Value::as_str).map(str::to_owned)
}

/// The comparison key of the session's customId (what is claimed and unique).
fn custom_id_key(s: &Session) -> Option<String> {
    custom_id(s).as_deref().map(crate::custom_ids::key)
}

fn custom_id_taken() -> ApiError {
    ApiError::new(409, "CUSTOM_ID_TAKEN", "customer.customId", "Another account already has this customId.")
}

async fn check_custom_id(db: &impl Db, s: &Session) -> ApiResult<()> {
    let Some(id) = custom_id_key(s) else { return Ok(()) };
    let rows = db.query(stmt!("SELECT session_id FROM custom_id_claims WHERE custom_id = ?1", id.as_str())).await?;
    match rows.first().and_then(|r| crate::db::text(r, "session_id")) {
        Some(owner) if owner != s.id => Err(custom_id_taken()),
        _ => Ok(()),
    }
}

fn claim_custom_id(s: &Session) -> Vec<Stmt> {
    custom_id_key(s)
        .map(|c| {
            // Re-claiming one's own is fine; another session's claim makes the
            // INSERT (and so the whole batch) fail.
            vec![
                stmt!(
                    "DELETE FROM custom_id_claims WHERE custom_id = ?1 AND session_id = ?2",
                    c.as_str(),
                    s.id.as_str()
                ),
                stmt!(
                    "INSERT INTO custom_id_claims (custom_id, session_id) VALUES (?1, ?2)",
                    c.as_str(),
                    s.id.as_str()
                ),
            ]
        })
        .unwrap_or_default()
}

fn release_custom_id(s: &Session) -> Vec<Stmt> {
    custom_id_key(s)
        .map(|c| {
            vec![stmt!(
                "DELETE FROM custom_id_claims WHERE custom_id = ?1 AND session_id = ?2",
                c.as_str(),
                s.id.as_str()
            )]
        })
        .unwrap_or_default()
}
