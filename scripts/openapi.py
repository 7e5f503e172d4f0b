"""Writes crates/edge/openapi.json, the OpenAPI 3.1 document the Worker serves.

Run: python3 scripts/openapi.py > crates/edge/openapi.json

The paths come from the Worker's route table (`routes!` in
crates/edge/src/http/routes.rs): each route's method, path and access, in
the table's order. This file adds what the table does not say (summaries,
schemas, answers), keyed by path and method; it fails on a route it does not
describe, on a description of no route, and on security that disagrees with
the route's access. (crates/edge/tests also check the served document
against the table.)
"""
import json
import os
import re
import sys

ROUTES_RS = os.path.join(os.path.dirname(__file__), "..", "crates", "edge", "src", "http", "routes.rs")
ROUTE = re.compile(r'^\s*"(\w+)" "([^"]+)" (\w+) => (\w+),$', re.M)
ROUTES = [m.groups() for m in ROUTE.finditer(open(ROUTES_RS).read())]
S = lambda name: {"$ref": f"#/components/schemas/{name}"}
money = {"type": "number", "description": "Amount in the catalog's currency, with its minor-unit decimals."}
date = {"type": "string", "format": "date"}
nstr = {"type": ["string", "null"]}
err_resp = lambda d: {"description": d, "content": {"application/json": {"schema": S("Error")}}}
def json_resp(d, schema, headers=None):
    r = {"description": d, "content": {"application/json": {"schema": schema}}}
    if headers: r["headers"] = headers
    return r
idem = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": "The same key and body replay the first answer (with `Idempotent-Replayed: true`); the same key with another body is 422."}
sess = {"name": "sessionId", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^cart_[0-9A-Za-z]{22}$"}}
common_errors = {"400": err_resp("Bad input: `code` and `path` name the field."), "401": err_resp("Missing or wrong key."),
                 "413": err_resp("Body over 64 KB."), "503": err_resp("Storage unavailable or no catalog published yet.")}
signup_errors = dict(common_errors)
signup_errors.update({"402": err_resp("The card was declined; nothing was created and the session stays open."),
                      "403": err_resp("quote.couponId with the publishable key: a coupon is the vendor's to give (the secret key)."),
                      "410": err_resp("quote.promotionCode has expired (PROMOTION_CODE_EXPIRED)."),
                      "404": err_resp("No such session."),
                      "409": err_resp("Not possible in the session's state (finalized, canceled, being finalized), a concurrent change, or a customId already taken."),
                      "422": err_resp("Idempotency-Key reused with another body."),
                      "502": err_resp("Stripe unreachable or failing; nothing was changed.")})
pid = lambda name: {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 100}}
paging = [{"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
          {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}]
page_of = lambda item: {"type": "object", "required": ["data", "nextCursor"], "properties": {"data": {"type": "array", "items": item}, "nextCursor": {"type": ["string", "null"]}}}
read_errors = {"400": err_resp("Bad paging parameters."), "401": err_resp("Missing or wrong key or token."), "403": err_resp("The publishable key may not read accounts."),
               "404": err_resp("Not found (or not this token's account)."), "503": err_resp("Storage unavailable.")}
review_errors = {"400": err_resp("Bad input."), "401": err_resp("Missing or wrong key."), "403": err_resp("Needs the secret key."), "404": err_resp("No such contract or amendment."),
                 "409": err_resp("The amendment is not pending."), "422": err_resp("Idempotency-Key reused."), "502": err_resp("Stripe unreachable."), "503": err_resp("Storage unavailable.")}
doc = {
 "openapi": "3.1.0",
 "info": {"title": "QuoteKit edge API", "version": "0.1.0",
          "description": "The Sign-Up API (`signup-api.txt`) on Cloudflare Workers: sign-up sessions on D1, payment methods and payments through Stripe, published catalogs. Amounts are exact decimals written as JSON numbers with the currency's decimals. Errors are `{sessionId?, error: true, code, path, message}`."},
 "servers": [{"url": "/"}],
 "security": [{"secretKey": []}, {"publishableKey": []}],
 "paths": {
  "/healthz": {"get": {"operationId": "health", "summary": "Liveness and the current catalog version", "security": [],
      "responses": {"200": json_resp("Up", S("Health")), "503": err_resp("Storage unavailable.")}}},
  "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document", "security": [],
      "responses": {"200": json_resp("The OpenAPI document", {"type": "object"})}}},
  "/api/selfService/config": {"get": {"operationId": "siteConfig", "summary": "What a browser page needs: the publishable key and where Stripe.js is",
      "security": [],
      "responses": {"200": json_resp("Public settings", {"type": "object", "required": ["publishableKey", "stripe"], "properties": {
          "publishableKey": {"type": "string"}, "stripe": {"type": "object", "required": ["publishableKey", "jsUrl"], "properties": {
              "publishableKey": {"type": "string"}, "jsUrl": {"type": "string"}}}}})}}},
  "/api/catalog": {
    "get": {"operationId": "getCatalog", "summary": "The current published catalog (for pricing in the browser)",
      "description": "Cacheable: `ETag`, `Cache-Control`; `If-None-Match` answers 304. Publishable or secret key.",
      "parameters": [{"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}],
      "responses": {"200": json_resp("The catalog, as published", S("Catalog"), {"ETag": {"schema": {"type": "string"}}, "QuoteKit-Catalog-Version": {"schema": {"type": "integer"}}}),
                    "304": {"description": "Not modified"}, "401": err_resp("Missing or wrong key."), "503": err_resp("No catalog published yet.")}},
    "put": {"operationId": "publishCatalog", "summary": "Validate and publish a new immutable catalog version (secret key)",
      "security": [{"secretKey": []}],
      "requestBody": {"required": True, "content": {"application/json": {"schema": S("Catalog")}}},
      "responses": {"201": json_resp("Published as a new version", S("CatalogVersion")),
                    "200": json_resp("Identical to the current version: nothing new", S("CatalogVersion")),
                    "400": err_resp("Invalid catalog: `INVALID_CATALOG` at the offending path."), "401": err_resp("Missing or wrong key."),
                    "403": err_resp("The publishable key may not publish."), "413": err_resp("Body over 64 KB."), "503": err_resp("Storage unavailable.")}}},
  "/api/catalog/versions/{version}": {"get": {"operationId": "getCatalogVersion", "summary": "A published catalog version (immutable)",
      "parameters": [{"name": "version", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}],
      "responses": {"200": json_resp("The catalog", S("Catalog")), "304": {"description": "Not modified"}, "400": err_resp("Not a number."),
                    "401": err_resp("Missing or wrong key."), "404": err_resp("No such version."), "503": err_resp("Storage unavailable.")}}},
  "/api/selfService/signup": {"post": {"operationId": "createSignup", "summary": "Start a sign-up session, or ESTIMATE without saving",
      "description": "Actions: CREATE_AND_FINALIZE, CREATE_WITH_PAYMENT_METHOD, CREATE_IN_PENDING, ESTIMATE.",
      "parameters": [idem],
      "requestBody": {"required": True, "content": {"application/json": {"schema": S("SignUpRequest")}}},
      "responses": {"201": json_resp("Session created", S("SignUpResponse")), "200": json_resp("ESTIMATE", S("EstimateResponse")), **signup_errors}}},
  "/api/selfService/signup/{sessionId}": {
    "get": {"operationId": "getSignup", "summary": "The session as it stands, with its step and a link to resume it",
      "parameters": [sess],
      "responses": {"200": json_resp("The session", S("SignUpResponse")), "401": err_resp("Missing or wrong key."), "404": err_resp("No such session."), "503": err_resp("Storage unavailable.")}},
    "patch": {"operationId": "updateSignup", "summary": "Drive a session: INIT_PAYMENT_METHOD, UPDATE, FINALIZE, CANCEL, ESTIMATE",
      "parameters": [sess, idem],
      "requestBody": {"required": True, "content": {"application/json": {"schema": S("SignUpRequest")}}},
      "responses": {"200": json_resp("Done (ESTIMATE answers the estimate shape)", {"oneOf": [S("SignUpResponse"), S("EstimateResponse")]}), **signup_errors}}},
  "/api/selfService/signup/{sessionId}/customerToken": {"post": {"operationId": "signupCustomerToken",
      "summary": "A portal token for the account a session just created",
      "description": "Only for a FINALIZED session, within an hour of its finalization; the token lives an hour. Publishable or secret key.",
      "parameters": [sess, idem],
      "responses": {"201": json_resp("The token", {"type": "object", "required": ["token", "accountId", "expiresAt"], "properties": {
          "token": {"type": "string"}, "accountId": {"type": "string"}, "expiresAt": {"type": "string", "format": "date-time"}}}),
          "401": err_resp("Missing or wrong key."), "403": err_resp("Finalized over an hour ago."), "404": err_resp("No such session."),
          "409": err_resp("The session is not finalized."), "422": err_resp("Idempotency-Key reused."), "503": err_resp("Storage unavailable.")}}},
  "/api/selfService/promotionCodes/{code}": {"get": {"operationId": "getPromotionCode", "summary": "What a promotion code gives (its coupon's terms), for a page to re-price",
      "description": "Codes compare case-insensitively. A code that is unknown or inactive counts against the client's budget of guesses (PROMOTION_CODE_GUESSES_PER_MINUTE): past it, every lookup is 429 with Retry-After.",
      "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1, "maxLength": 100}}],
      "responses": {"200": json_resp("The code's terms", {"type": "object", "required": ["code", "coupon"], "properties": {
          "code": {"type": "string"}, "expiresOn": {"type": ["string", "null"], "format": "date"}, "firstTimeOnly": {"type": "boolean"},
          "coupon": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "percentOff": {"type": "number"},
              "duration": {"enum": ["ONCE", "REPEATING", "FOREVER"]}, "durationMonths": {"type": ["integer", "null"]},
              "appliesTo": {"type": ["array", "null"], "items": {"type": "string"}}, "redeemBy": {"type": ["string", "null"], "format": "date"}}}}}),
          "401": err_resp("Missing or wrong key."), "404": err_resp("PROMOTION_CODE_INVALID: unknown or inactive."),
          "409": err_resp("PROMOTION_CODE_EXHAUSTED: used up."), "410": err_resp("PROMOTION_CODE_EXPIRED."),
          "503": err_resp("Storage unavailable or no catalog.")}}},
  "/api/selfService/contract": {"post": {"operationId": "changeContract", "summary": "Change a contract (the Contract Management API)",
      "description": "QUANTITY_CHANGE, RATE_CHANGE, OFFERING_CHANGE, ADD_OFFERING, REMOVE_OFFERING, CANCELLATION; `effectiveDate` (date or date-time) or `relativeEffectiveDate: NEXT_BILL_CYCLE`, default today. Extras: `preview: true` (saves nothing), `operations: [...]` (several changes, one invoice), `evaluateApprovalRules: true`. Secret key or a customer token for the contract's account.",
      "security": [{"secretKey": []}, {"customerToken": []}],
      "parameters": [idem],
      "requestBody": {"required": True, "content": {"application/json": {"schema": S("ContractChangeRequest")}}},
      "responses": {"200": json_resp("Applied (or scheduled for a future date, or a preview)", S("ContractChangeResponse")),
                    "202": json_resp("Saved for review (approval rules)", S("ContractChangeResponse")),
                    "402": json_resp("The charge was declined: nothing applied (status FAILED)", S("ContractChangeResponse")),
                    "400": err_resp("Bad input: `code` and `path` name the field."), "401": err_resp("Missing or wrong key or token."),
                    "403": err_resp("The publishable key may not change contracts."), "404": err_resp("No such contract (or not this token's)."),
                    "409": err_resp("Contract not active (CONTRACT_SUSPENDED), an invoice in dunning (CONTRACT_PAST_DUE: only a cancellation is taken until it is paid), another change in progress (CHANGE_IN_PROGRESS: being charged), or an amendment pending."),
                    "413": err_resp("Body over 64 KB."), "422": err_resp("Idempotency-Key reused with another body."),
                    "502": err_resp("PAYMENT_PROVIDER_UNAVAILABLE. Stripe unreachable: nothing applied, or, when Stripe did not say whether the charge went through, the change is held (charged at most once) and the next request on the contract, or the billing run, settles it; sending the same change again answers how it ended."),
                    "503": err_resp("Storage unavailable.")}}},
  "/api/customerTokens": {"post": {"operationId": "createCustomerToken", "summary": "Mint a short-lived token scoped to one account (secret key)",
      "security": [{"secretKey": []}], "parameters": [idem],
      "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["accountId"], "properties": {
          "accountId": {"type": "string"}, "expiresIn": {"type": "integer", "minimum": 1, "maximum": 86400}}}}}},
      "responses": {"201": json_resp("The token", {"type": "object", "required": ["token", "accountId", "expiresAt"], "properties": {
          "token": {"type": "string"}, "accountId": {"type": "string"}, "expiresAt": {"type": "string", "format": "date-time"}}}),
          "400": err_resp("Bad input."), "401": err_resp("Missing or wrong key."), "403": err_resp("Needs the secret key."), "404": err_resp("No such account."), "413": err_resp("Body over 64 KB."), "422": err_resp("Idempotency-Key reused."), "503": err_resp("Storage unavailable.")}}},
  "/api/accounts": {"get": {"operationId": "findAccounts", "summary": "Accounts by the vendor's reference (secret key)",
      "security": [{"secretKey": []}],
      "parameters": [{"name": "customId", "in": "query", "required": True, "schema": {"type": "string"}}],
      "responses": {"200": json_resp("Matching accounts", page_of(S("Account"))), "400": err_resp("customId missing."), "401": err_resp("Missing or wrong key."), "403": err_resp("Needs the secret key."), "503": err_resp("Storage unavailable.")}}},
  "/api/accounts/{accountId}": {"get": {"operationId": "getAccount", "summary": "An account with its contacts and bill groups",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("accountId")],
      "responses": {"200": json_resp("The account", S("Account")), **read_errors}},
    "patch": {"operationId": "updateAccount", "summary": "Update the account's name, billing address or contact",
      "description": "For the customer (its customer token) or the vendor (secret key). The billing address is replaced whole; tax on later invoices and changes follows it. A new contact name or email is sent to the Stripe customer first; if Stripe cannot be reached the answer is 502 and nothing is changed.",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("accountId"), idem],
      "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
          "name": {"type": ["string", "null"], "maxLength": 200}, "billingAddress": {"oneOf": [{"type": "null"}, S("Address")]},
          "contact": {"oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": False, "properties": {
              "name": {"type": ["string", "null"], "maxLength": 200},
              "email": {"type": ["string", "null"], "maxLength": 254, "description": "An email address."}}}]}}}}}},
      "responses": {"200": json_resp("The account as updated", S("Account")), "400": err_resp("Bad input: `code` and `path` name the field."),
          "401": err_resp("Missing or wrong key or token."), "403": err_resp("The publishable key may not change accounts."),
          "404": err_resp("Not found (or not this token's account)."), "413": err_resp("Body over 64 KB."), "422": err_resp("Idempotency-Key reused."),
          "502": err_resp("Stripe unreachable: nothing changed."), "503": err_resp("Storage unavailable.")}}},
  "/api/accounts/{accountId}/contracts": {"get": {"operationId": "listContracts", "summary": "An account's contracts, newest first",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("accountId"), *paging],
      "responses": {"200": json_resp("A page", page_of(S("Contract"))), **read_errors}}},
  "/api/accounts/{accountId}/invoices": {"get": {"operationId": "listInvoices", "summary": "An account's invoices, newest first",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("accountId"), *paging],
      "responses": {"200": json_resp("A page", page_of(S("Invoice"))), **read_errors}}},
  "/api/contracts": {"post": {"operationId": "importContract", "summary": "Bring in a contract sold elsewhere, with its account (secret key)",
      "security": [{"secretKey": []}], "parameters": [idem],
      "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["account", "contract"], "properties": {
          "account": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "customId": {"type": "string"}, "billingAddress": S("Address"),
              "contact": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}}}}},
          "billGroup": S("BillGroupInput"), "contract": {"type": "object", "description": "A contract as docs/pricing.md defines it (id optional)."}}}}}},
      "responses": {"201": json_resp("Imported", {"type": "object", "properties": {"account": S("Account"), "contract": S("Contract")}}),
          "400": err_resp("Bad input."), "401": err_resp("Missing or wrong key."), "403": err_resp("Needs the secret key."), "409": err_resp("Contract id or customId taken."), "413": err_resp("Body over 64 KB."), "422": err_resp("Idempotency-Key reused."), "503": err_resp("Storage unavailable.")}}},
  "/api/contracts/{contractId}": {"get": {"operationId": "getContract", "summary": "A contract: lines, amendments, scheduled changes, pending reviews",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("contractId")],
      "responses": {"200": json_resp("The contract", S("Contract")), **read_errors}}},
  "/api/contracts/{contractId}/usage": {"get": {"operationId": "getContractUsage", "summary": "A contract's metered usage: the current period so far and its price so far, the periods billed, late events",
      "description": "Per metered product of the contract's lines: the current period (`periodStart` is `meteredThrough`), the usage stored so far through today and its price as the billing run will price it at the period's end (`amount` after discount, `discountAmount`). `billed`: the USAGE lines of the contract's latest invoices. `late`: events stored after their period was billed, with their reason (never billed; the vendor settles them).",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("contractId")],
      "responses": {"200": json_resp("The usage", {"type": "object", "required": ["contractId", "asOf", "current", "billed", "late"], "properties": {
          "contractId": {"type": "string"}, "asOf": {"type": "string", "format": "date"},
          "current": {"type": "array", "items": {"type": "object", "properties": {"offeringId": {"type": "string"}, "productId": {"type": "string"},
              "periodStart": {"type": "string", "format": "date"}, "periodEnd": {"type": "string", "format": "date"}, "quantity": {"type": "number"},
              "amount": money, "discountAmount": money,
              "projected": {"type": "object", "description": "At this pace: a SUM grows with the period's days (a MAX stays), priced the same way.",
                  "properties": {"quantity": {"type": "number"}, "amount": money}}}}},
          "billed": {"type": "array", "items": {"type": "object"}}, "late": {"type": "array", "items": {"type": "object"}}}}), **read_errors}}},
  "/api/contracts/{contractId}/amendments/{amendmentId}/approve": {"post": {"operationId": "approveAmendment", "summary": "Approve a change under review: applied (or scheduled) now",
      "security": [{"secretKey": []}], "parameters": [pid("contractId"), pid("amendmentId"), idem],
      "responses": {"200": json_resp("Applied or scheduled", S("ContractChangeResponse")), "402": json_resp("Charge declined", S("ContractChangeResponse")), **review_errors}}},
  "/api/contracts/{contractId}/amendments/{amendmentId}/reject": {"post": {"operationId": "rejectAmendment", "summary": "Reject a change under review, or withdraw a scheduled one",
      "security": [{"secretKey": []}], "parameters": [pid("contractId"), pid("amendmentId"), idem],
      "responses": {"200": json_resp("Rejected or withdrawn", {"type": "object", "properties": {"amendmentId": {"type": "string"}, "status": {"enum": ["REJECTED", "WITHDRAWN"]}, "contract": S("Contract")}}), **review_errors}}},
  "/api/contracts/{contractId}/amendments/{amendmentId}/withdraw": {"post": {"operationId": "withdrawAmendment", "summary": "Withdraw a change not yet made (scheduled for a later date, or waiting for review)",
      "description": "For the customer (its customer token) or the vendor (secret key). Nothing is billed for a withdrawn change.",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("contractId"), pid("amendmentId"), idem],
      "responses": {"200": json_resp("Withdrawn", {"type": "object", "properties": {"amendmentId": {"type": "string"}, "status": {"enum": ["WITHDRAWN"]}, "contract": S("Contract")}}),
          **review_errors, "403": err_resp("The publishable key, or a token outside its account's endpoints."), "404": err_resp("No such contract or amendment (or not this token's account).")}}},
  "/api/contracts/{contractId}/reprice": {"post": {"operationId": "repriceContract", "summary": "Move a grandfathered contract to the current catalog at its next bill cycle",
      "description": "Existing contracts are priced on the catalog version they were sold (or last changed) on. This schedules, at each line's next bill cycle, the move of every line to the current catalog (same offerings, rates and quantities, current prices). Nothing is credited or charged on the day: prepaid time keeps the price paid, time used in arrears is billed at the old price. `preview: true` answers the scheduled change and the invoice its date will issue (`nextInvoice`) without saving.",
      "security": [{"secretKey": []}], "parameters": [pid("contractId"), idem],
      "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": False, "properties": {"preview": {"type": "boolean"}}}}}},
      "responses": {"200": json_resp("Scheduled (or previewed)", S("ContractChangeResponse")),
          "400": err_resp("Bad body, or a line the current catalog no longer sells (change it first)."), "401": err_resp("Missing or wrong key."), "403": err_resp("Needs the secret key."),
          "404": err_resp("No such contract."), "409": err_resp("Not active, already on the current catalog, or another change is scheduled or under review."),
          "413": err_resp("Body over 64 KB."), "422": err_resp("Idempotency-Key reused."), "503": err_resp("Storage unavailable or no catalog.")}}},
  "/api/invoices/{invoiceId}": {"get": {"operationId": "getInvoice", "summary": "An invoice with its payments",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("invoiceId")],
      "responses": {"200": json_resp("The invoice", S("Invoice")), **read_errors}}},
  "/api/quotes/{quoteId}": {"get": {"operationId": "getQuote", "summary": "A sign-up quote or an amendment quote",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("quoteId")],
      "responses": {"200": json_resp("The quote", {"type": "object"}), **read_errors}}},
  "/api/billingRuns": {"post": {"operationId": "runBilling", "summary": "Run billing for a date over one page of contracts (secret key; the cron does the same daily)",
      "description": "Scheduled changes on their dates, then each period's invoice (exactly once), priced on the catalog version the contract was sold or last changed on, charged when the bill group collects automatically; then dunning (retries per settings.dunning.retryDays, default 1, 3, 5 days; after the last, the invoice is voided and the contract suspended: no suspended day is billed). A contract that cannot be billed is listed in failedContracts and skipped; storage trouble stops the run with 503. Continue with `cursor` = `nextCursor` while it is not null.",
      "security": [{"secretKey": []}], "parameters": [idem],
      "requestBody": {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
          "date": {"type": ["string", "null"], "format": "date", "description": "Default (absent or null) today; never after today."},
          "cursor": {"type": ["string", "null"]}, "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 200, "description": "Default (absent or null) 100."}}}}}},
      "responses": {"200": json_resp("What the run did", {"type": "object", "required": ["id", "date", "contracts", "invoicesIssued", "charged", "failed", "nextCursor"], "properties": {
          "id": {"type": "string"}, "date": {"type": "string", "format": "date"}, "contracts": {"type": "integer"}, "invoicesIssued": {"type": "integer"},
          "charged": {"type": "integer"}, "failed": {"type": "integer"}, "changesApplied": {"type": "integer"}, "voided": {"type": "integer"},
          "suspended": {"type": "integer"}, "renewed": {"type": "integer"}, "ended": {"type": "integer"},
          "unsettled": {"type": "integer", "description": "Charges whose outcome Stripe could not tell yet: held, never repeated; the next run settles them."},
          "lateUsage": {"type": "array", "description": "Usage events stored after their period was billed (never billed; for the vendor to settle), each listed by the first run after it was stored.",
              "items": {"type": "object", "properties": {"contractId": {"type": "string"}, "id": {"type": "string"}, "productId": {"type": "string"},
                  "day": {"type": "string", "format": "date"}, "quantity": {"type": "string"}, "reason": {"type": "string"}}}},
          "failedContracts": {"type": "array", "description": "Contracts that could not be billed: skipped (the others were billed) and logged; each run tries them again.",
              "items": {"type": "object", "required": ["contractId", "code", "message"], "properties": {"contractId": {"type": "string"}, "code": {"type": "string"}, "path": {"type": "string"}, "message": {"type": "string"}}}},
          "nextCursor": {"type": ["string", "null"]}}}),
          "400": err_resp("Bad date, cursor or limit."), "401": err_resp("Missing or wrong key."), "403": err_resp("Needs the secret key."),
          "413": err_resp("Body over 64 KB."), "422": err_resp("Idempotency-Key reused."), "503": err_resp("Storage unavailable or no catalog.")}}},
  "/api/usage": {"post": {"operationId": "reportUsage", "summary": "Report usage of metered products: up to 1 000 events, each accepted, a duplicate or rejected (secret key)",
      "description": "Each event `{ id, contractId, productId, quantity, timestamp }`: `id` at most 255 characters, counted once forever for this deployment (an id stored before, or sent twice in one request, is a `duplicate`); `timestamp` RFC 3339 with an offset, whose UTC date is the usage day. Rejections name the field: UNKNOWN_CONTRACT, NOT_METERED, NOT_ON_CONTRACT (a day the contract does not price the product), TIMESTAMP_IN_FUTURE (over 5 minutes ahead), PERIOD_ALREADY_BILLED, INVALID_VALUE, MISSING_FIELD. One bad event never loses the others. The accepted go to a Cloudflare Queue whose consumer stores them in D1 exactly once; one stored after a billing run billed its period is kept as late (never billed). This route takes bodies up to 1 MB.",
      "security": [{"secretKey": []}], "parameters": [idem],
      "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["events"], "properties": {
          # Each event is read on its own: a malformed one (a missing field, a wrong type) is that
          # event's rejection in the 202 answer, never the request's, so the schema constrains none.
          "events": {"type": "array", "maxItems": 1000, "items": {
              "description": "A usage event. Each is read on its own: one that is malformed is `rejected` in the 202 answer with its code and path (MISSING_FIELD, INVALID_VALUE at `events[i].field`), and the others go on.",
              "properties": {
                  "id": {"description": "1 to 255 printable characters: the event counts once, forever.", "examples": ["evt_0001"]},
                  "contractId": {"description": "The contract (`ctr_…`).", "examples": ["ctr_AIJFdzGVcrfkCjZCTw4kc7"]},
                  "productId": {"description": "A metered product on the contract.", "examples": ["prod_api_calls"]},
                  "quantity": {"description": "A decimal at least 0: a JSON number or a string holding one.", "examples": [1200, "0.5"]},
                  "timestamp": {"description": "RFC 3339 with an offset; its UTC date is the usage day.", "examples": ["2026-12-01T09:00:00Z"]}}}}}}}}},
      "responses": {"202": json_resp("Each event's outcome, by index (the accepted are queued)", {"type": "object", "required": ["accepted", "duplicates", "rejected", "events"], "properties": {
          "accepted": {"type": "integer"}, "duplicates": {"type": "integer"}, "rejected": {"type": "integer"},
          "events": {"type": "array", "items": {"type": "object", "required": ["index", "status"], "properties": {
              "index": {"type": "integer"}, "id": {"type": ["string", "null"]}, "status": {"enum": ["accepted", "duplicate", "rejected"]},
              "code": {"type": "string"}, "path": {"type": "string"}, "message": {"type": "string"}}}}}}),
          "400": err_resp("No events list, or over 1 000 events."), "401": err_resp("Missing or wrong key."), "403": err_resp("Needs the secret key."),
          "413": err_resp("Body over 1 MB."), "422": err_resp("Idempotency-Key reused."),
          "503": err_resp("Storage or the usage queue unavailable: nothing was accepted; send the same events again.")}}},
  "/api/accounts/{accountId}/setupIntents": {"post": {"operationId": "accountSetupIntent", "summary": "A SetupIntent for a new card on the account (Stripe.js confirms it)",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("accountId"), idem],
      "responses": {"201": json_resp("Everything Stripe.js needs", {"type": "object", "required": ["customerId", "setupIntentId", "clientSecret", "publicKey"], "properties": {
          "customerId": {"type": "string"}, "setupIntentId": {"type": "string"}, "clientSecret": {"type": "string"}, "publicKey": {"type": "string"}}}),
          **read_errors, "502": err_resp("Stripe unreachable.")}}},
  "/api/accounts/{accountId}/paymentMethod": {"post": {"operationId": "accountPaymentMethod", "summary": "Save a confirmed card as the account's default; unpaid invoices are retried at once and a suspended contract resumes",
      "security": [{"secretKey": []}, {"customerToken": []}], "parameters": [pid("accountId"), idem],
      "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["paymentToken"], "properties": {"paymentToken": {"type": "string", "pattern": "^(seti|pm)_[A-Za-z0-9_]+$"}}}}}},
      "responses": {"200": json_resp("Saved; what was retried", {"type": "object", "properties": {"accountId": {"type": "string"}, "stripePaymentMethodId": {"type": "string"},
          "retried": {"type": "integer"}, "charged": {"type": "integer"}, "failed": {"type": "integer"}, "activeContracts": {"type": ["integer", "null"]}}}),
          **read_errors, "409": err_resp("No Stripe customer yet: create a SetupIntent first."), "413": err_resp("Body over 64 KB."), "422": err_resp("Idempotency-Key reused."), "502": err_resp("Stripe unreachable.")}}},
  "/api/webhooks/stripe": {"post": {"operationId": "stripeWebhook", "summary": "Stripe events (setup_intent.succeeded, payment_intent.succeeded, payment_intent.payment_failed)",
      "description": "Authenticated by `Stripe-Signature` (HMAC-SHA256 of `timestamp.body` under STRIPE_WEBHOOK_SECRET, at most five minutes old). Each event id is handled once.",
      "security": [], "parameters": [{"name": "Stripe-Signature", "in": "header", "required": True, "schema": {"type": "string"}}],
      "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["id", "type"], "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "data": {"type": "object"}}}}}},
      "responses": {"200": json_resp("Received", {"type": "object", "properties": {"received": {"type": "boolean"}, "handled": {"type": "boolean"}, "duplicate": {"type": "boolean"}}}),
          "400": err_resp("Bad signature or body."), "413": err_resp("Body over 64 KB."), "503": err_resp("Storage unavailable.")}}} },
 "components": {
  "securitySchemes": {
    "secretKey": {"type": "http", "scheme": "bearer", "description": "The vendor's secret key (SECRET_KEY): everything."},
    "publishableKey": {"type": "http", "scheme": "bearer", "description": "The publishable key (PUBLISHABLE_KEY): ESTIMATE, catalog reads, sign-up sessions."},
    "customerToken": {"type": "http", "scheme": "bearer", "description": "A customer token (ctok_…, from POST /api/customerTokens): one account's reads and contract changes."}},
  "schemas": {
   "Error": {"type": "object", "required": ["error", "code", "path", "message"], "properties": {
      "sessionId": {"type": "string"}, "error": {"const": True}, "code": {"type": "string"},
      "path": {"type": "string", "description": "The offending field (`quote.offerings[0].items[1].quantity`), empty when none."},
      "message": {"type": "string"}}},
   "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}, "catalogVersion": {"type": ["integer", "null"]}}},
   "Catalog": {"type": "object", "description": "A catalog as defined in docs/pricing.md (currency, settings, products, offerings).",
      "required": ["currency", "products", "offerings"],
      "properties": {"currency": {"type": "string"}, "settings": {"type": "object"}, "products": {"type": "array", "items": {"type": "object"}}, "offerings": {"type": "array", "items": {"type": "object"}},
          "coupons": {"type": "array", "description": "Coupons a quote may name (docs/pricing.md, Discounts).", "items": {"type": "object"}},
          "promotionCodes": {"type": "array", "description": "Secret codes for coupons: [{ code, couponId, maxRedemptions?, expiresOn?, active?, firstTimeOnly? }]. Only the secret key sees them (its answer is Cache-Control: private, no-store).", "items": {"type": "object"}}}},
   "CatalogVersion": {"type": "object", "required": ["version", "etag", "createdAt", "created"], "properties": {
      "version": {"type": "integer"}, "etag": {"type": "string"}, "createdAt": {"type": "string", "format": "date-time"}, "created": {"type": "boolean"}}},
   "SignUpRequest": {"type": "object", "required": ["action"], "additionalProperties": False, "properties": {
      "action": {"enum": ["CREATE_AND_FINALIZE", "CREATE_WITH_PAYMENT_METHOD", "CREATE_IN_PENDING", "INIT_PAYMENT_METHOD", "UPDATE", "FINALIZE", "CANCEL", "ESTIMATE"]},
      "customer": {"oneOf": [{"type": "null"}, S("CustomerInput")]},
      "billGroup": {"oneOf": [{"type": "null"}, S("BillGroupInput")]},
      "quote": {"oneOf": [{"type": "null"}, S("QuoteRequest")]},
      "paymentMethod": {"oneOf": [{"type": "null"}, S("PaymentMethodInput")]}}},
   "CustomerInput": {"type": "object", "required": ["accountName", "name", "email"], "additionalProperties": False, "properties": {
      "accountName": {"type": "string", "minLength": 1, "maxLength": 200}, "customId": {"type": ["string", "null"], "maxLength": 100},
      "name": {"type": "string", "minLength": 1, "maxLength": 200}, "email": {"type": "string", "format": "email", "maxLength": 254},
      "billingAddress": {"oneOf": [{"type": "null"}, S("Address")]}}},
   "Address": {"type": "object", "additionalProperties": False, "properties": {
      "line1": {"type": ["string", "null"], "maxLength": 200}, "line2": {"type": ["string", "null"], "maxLength": 200}, "city": {"type": ["string", "null"], "maxLength": 200},
      "state": {"type": ["string", "null"], "maxLength": 200}, "postalCode": {"type": ["string", "null"], "maxLength": 200},
      "country": {"type": ["string", "null"], "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166-1 alpha-2"}}},
   "BillGroupInput": {"type": "object", "additionalProperties": False, "properties": {
      "autoEmailInvoice": {"type": ["boolean", "null"]}, "collectInvoiceBalanceAutomatically": {"type": ["boolean", "null"]}}},
   "QuoteRequest": {"type": "object", "required": ["offerings"], "additionalProperties": False, "properties": {
      "startDate": {"type": ["string", "null"], "format": "date", "description": "Default today; never in the past."},
      "customId": {"type": ["string", "null"], "maxLength": 100},
      "couponId": {"type": ["string", "null"], "maxLength": 100, "description": "A coupon of the catalog: the secret key only (403 with the publishable key)."},
      "promotionCode": {"type": ["string", "null"], "maxLength": 64, "description": "A promotion code (any key, any case): its coupon applies. 400 PROMOTION_CODE_INVALID, 410 PROMOTION_CODE_EXPIRED, 409 PROMOTION_CODE_EXHAUSTED or PROMOTION_CODE_NOT_ELIGIBLE, at quote.promotionCode; FINALIZE redeems it."},
      "offerings": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "object", "required": ["offeringId", "rateId"], "properties": {
          "offeringId": {"type": "string"}, "rateId": {"type": "string"},
          "items": {"type": ["array", "null"], "maxItems": 100, "items": {"type": "object", "required": ["productId"], "properties": {
              "productId": {"type": "string"}, "quantity": {"type": ["number", "string", "null"], "description": "A decimal ≥ 0 (numeric strings accepted)."}}}}}}}}},
   "PaymentMethodInput": {"type": "object", "required": ["paymentToken"], "additionalProperties": False, "properties": {
      "paymentMethodName": {"type": ["string", "null"], "maxLength": 100},
      "paymentToken": {"type": "string", "pattern": "^(seti|pm)_[A-Za-z0-9_]+$", "description": "A confirmed SetupIntent (seti_…) or a PaymentMethod (pm_…) of the session's Stripe customer."}}},
   "Quote": {"type": "object", "description": "The engine's quote (docs/pricing.md), plus id, status, customId and catalogVersion once saved.",
      "required": ["currency", "startDate", "amountWithoutTax", "amount", "offerings", "firstInvoice", "nextInvoiceDate"], "properties": {
      "id": {"type": "string"}, "status": {"enum": ["DRAFT", "PROCESSED"]}, "customId": nstr, "catalogVersion": {"type": "integer"},
      "promotionCode": {"type": "string", "description": "A session's quote: the promotion code it carries, as sent (FINALIZE redeems it)."},
      "currency": {"type": "string"}, "startDate": date, "endDate": {"type": ["string", "null"], "format": "date"},
      "amountWithoutTax": money, "amount": money, "discountAmount": money,
      "discount": {"type": "object", "description": "With quote.couponId: the deal the contract keeps.", "properties": {
          "couponId": {"type": "string"}, "percentOff": {"type": "number"}, "appliesTo": {"type": ["array", "null"], "items": {"type": "string"}},
          "endDate": {"type": ["string", "null"], "format": "date"}}},
      "recurring": {"type": "array", "description": "The recurring items' amounts by frequency (one-time items count in none).",
          "items": {"type": "object", "properties": {"billingFrequency": {"type": "string"}, "amountWithoutTax": money}}},
      "oneTime": {"type": "object", "description": "The one-time items (setup fees, purchases): charged once, on the first invoice.",
          "properties": {"amountWithoutTax": money}},
      "offerings": {"type": "array", "items": {"type": "object", "required": ["offeringId", "rateId", "amount", "items"], "properties": {
          "offeringId": {"type": "string"}, "rateId": {"type": "string"}, "billingFrequency": {"type": "string"}, "billingTiming": {"type": "string"},
          "endDate": {"type": ["string", "null"]}, "amountWithoutTax": money, "amount": money,
          "items": {"type": "array", "items": {"type": "object", "required": ["productId", "quantity", "amount"], "properties": {
              "productId": {"type": "string"}, "type": {"enum": ["RECURRING", "ONE_TIME"]}, "quantity": {"type": "number"},
              "amountWithoutTax": money, "amount": money, "discountAmount": money}}}}}},
      "firstInvoice": S("InvoiceDraft"),
      "nextInvoiceDate": {"type": ["string", "null"], "format": "date", "description": "null when nothing recurs (one-time prices only)."}}},
   "InvoiceLine": {"type": "object", "properties": {"id": {"type": "string"}, "offeringId": {"type": "string"}, "rateId": {"type": "string"}, "productId": {"type": "string"},
      "type": {"enum": ["RECURRING", "ONE_TIME"], "description": "ONE_TIME: a one-time price, whole, dated its day (periodStart = periodEnd)."},
      "quantity": {"type": "number"}, "periodStart": date, "periodEnd": date, "prorationFactor": {"type": "string"}, "amount": money,
      "discountAmount": money, "tax": money, "grantsCredit": {"const": True, "description": "A one-time line selling prepaid credit."}}},
   "InvoiceDraft": {"type": "object", "properties": {"invoiceDate": date, "amountWithoutTax": money, "discountAmount": money, "tax": money, "amount": money,
      "lines": {"type": "array", "items": S("InvoiceLine")}}},
   "Invoice": {"type": "object", "required": ["id", "status", "amountWithoutTax", "tax", "amount", "amountDue", "items"], "properties": {
      "id": {"type": "string"}, "status": {"enum": ["OPEN", "PAID", "VOID", "DRAFT"]}, "currency": {"type": "string"}, "accountId": {"type": "string"},
      "contractId": {"type": "string"}, "invoiceDate": date, "amountWithoutTax": money, "discountAmount": money, "tax": money, "amount": money, "amountDue": money, "creditApplied": money,
      "items": {"type": "array", "items": S("InvoiceLine")}}},
   "Contract": {"type": "object", "required": ["id", "status", "offerings"], "description": "The engine's contract (docs/pricing.md) with its ids.", "properties": {
      "id": {"type": "string"}, "status": {"type": "string"}, "currency": {"type": "string"}, "startDate": date, "endDate": {"type": ["string", "null"]},
      "offerings": {"type": "array", "items": {"type": "object"}}, "accountId": {"type": "string"}, "billGroupId": {"type": "string"},
      "quoteId": {"type": "string"}, "catalogVersion": {"type": "integer"},
      "nextInvoice": {"description": "GET /api/contracts/{id} only: the DRAFT invoice the contract issues next as things stand (usage so far; scheduled changes answer their own); null when suspended or nothing more is owed.",
                      "anyOf": [S("Invoice"), {"type": "null"}]}}},
   "Payment": {"type": "object", "required": ["id", "amount"], "properties": {"id": {"type": "string"}, "invoiceId": {"type": "string"}, "amount": money,
      "currency": {"type": "string"}, "status": {"type": "string"}, "stripePaymentIntentId": {"type": "string"}, "createdAt": {"type": "string"}}},
   "SignUpResponse": {"type": "object", "required": ["sessionId", "error", "action", "status", "step", "urls"], "properties": {
      "sessionId": {"type": "string"}, "error": {"const": False},
      "action": {"enum": ["CREATE_AND_FINALIZE", "CREATE_WITH_PAYMENT_METHOD", "CREATE_IN_PENDING", "INIT_PAYMENT_METHOD", "ADD_PAYMENT_METHOD", "UPDATE", "FINALIZE", "CANCEL", "GET"]},
      "status": {"enum": ["OPEN", "FINALIZING", "FINALIZED", "CANCELED"]},
      "step": {"enum": ["details", "payment_method", "review", "processing", "complete", "canceled"]},
      "urls": {"type": "object", "required": ["signup"], "properties": {"signup": {"type": "string"}}},
      "catalogVersion": {"type": "integer"},
      "customer": {"type": "object", "required": ["accountId", "accountName", "contactId", "contactName", "contactEmail"], "properties": {
          "accountId": {"type": "string"}, "accountName": {"type": "string"}, "contactId": {"type": "string"}, "contactName": {"type": "string"},
          "contactEmail": {"type": "string"}, "customId": nstr, "billingAddress": {"type": "object"}}},
      "billGroup": {"type": "object", "properties": {"id": {"type": "string"}, "autoEmailInvoice": {"type": "boolean"}, "collectInvoiceBalanceAutomatically": {"type": "boolean"}}},
      "quote": S("Quote"),
      "paymentMethod": {"type": "object", "properties": {"paymentMethodName": nstr, "stripePaymentMethodId": {"type": "string"}, "brand": nstr, "last4": nstr}},
      "paymentMethodInit": {"type": "object", "properties": {"stripe": {"type": "object", "required": ["customerId", "setupIntentId", "clientSecret", "publicKey"], "properties": {
          "customerId": {"type": "string"}, "setupIntentId": {"type": "string"}, "clientSecret": {"type": "string"}, "publicKey": {"type": "string"}}}}},
      "lastError": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "declineCode": nstr}},
      "contract": S("Contract"), "invoice": S("Invoice"), "payment": S("Payment"),
      "dueAtSignUp": {"type": "object", "description": "What FINALIZE charges today: the quote's first invoice with the tax of customer.billingAddress (the npm package's dueAtSignUp). On open sessions, and ESTIMATE, when an address is known."},
      "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"}}},
   "Account": {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "customId": nstr,
      "currency": {"type": "string"}, "billingAddress": {"type": ["object", "null"]}, "creditBalance": money, "stripeCustomerId": nstr,
      "defaultPaymentMethodId": nstr, "createdAt": {"type": "string"}, "contacts": {"type": "array", "items": {"type": "object"}}, "billGroups": {"type": "array", "items": {"type": "object"}}}},
   "ContractChangeRequest": {"type": "object", "required": ["contractId"], "properties": {
      "action": {"enum": ["QUANTITY_CHANGE", "RATE_CHANGE", "OFFERING_CHANGE", "ADD_OFFERING", "REMOVE_OFFERING", "CANCELLATION", "RENEW", "TERM_CHANGE"],
                 "description": "The doc's six actions, plus RENEW (payload.months, default the rate's term) and TERM_CHANGE (payload.months, ± whole months) for termed contracts."},
      "contractId": {"type": "string"}, "effectiveDate": {"type": "string", "description": "A date (YYYY-MM-DD) or an RFC 3339 date-time; not in the past."},
      "relativeEffectiveDate": {"enum": ["NEXT_BILL_CYCLE"]}, "payload": {"type": ["object", "null"]},
      "preview": {"type": "boolean"}, "evaluateApprovalRules": {"type": "boolean"},
      "operations": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "object", "required": ["action"], "properties": {
          "action": {"type": "string"}, "effectiveDate": {"type": "string"}, "relativeEffectiveDate": {"type": "string"}, "payload": {"type": ["object", "null"]}}}}}},
   "ContractChangeResponse": {"type": "object", "required": ["action", "status", "quote", "contract"], "properties": {
      "action": {"type": "string"}, "status": {"enum": ["SUCCESS", "FAILED", "REVIEW"]}, "errorMessage": {"type": "string"},
      "quote": {"type": "object"}, "contract": S("Contract"), "invoice": S("Invoice"),
      "upcomingInvoice": {"type": "object", "description": "A change scheduled for a later date: the invoice the change itself issues on that date (no items when it starts with a whole period)."},
      "nextInvoice": {"type": "object", "description": "A change dated later (scheduled, or previewed): the regular invoice the billing run issues on that date for the contract as changed, when there is one."},
      "scheduled": {"type": "boolean", "description": "A preview: true when confirming would schedule the change for its date (nothing is due today) rather than apply it now."},
      "payment": S("Payment"), "creditBalance": money, "preview": {"type": "boolean"}}},
   "EstimateResponse": {"type": "object", "required": ["sessionId", "error", "action", "catalogVersion", "quote"], "properties": {
      "sessionId": nstr, "error": {"const": False}, "action": {"const": "ESTIMATE"}, "catalogVersion": {"type": "integer"}, "quote": S("Quote"),
      "dueAtSignUp": {"type": "object", "description": "With customer.billingAddress: what FINALIZE would charge today, taxed (the quote's own figures are before tax)."}}},
  }}}
# The paths, from the route table.
described = doc["paths"]
SECURITY = {"Public": [], "Publishable": None, "Account": [{"secretKey": []}, {"customerToken": []}],
            "Secret": [{"secretKey": []}]}
paths, problems = {}, []
for method, path, access, handler in ROUTES:
    op = described.get(path, {}).pop(method.lower(), None)
    if op is None:
        problems.append(f"{method} {path} ({handler}): not described here")
        continue
    if op.get("security") != SECURITY[access]:
        problems.append(f"{method} {path}: security {op.get('security')} but the route is {access}")
    paths.setdefault(path, {})[method.lower()] = op
problems += [f"{m.upper()} {p}: described but not a route" for p, ops in described.items() for m in ops]
if problems or not ROUTES:
    sys.exit("openapi.py: " + ("; ".join(problems) or f"no routes read from {ROUTES_RS}"))
doc["paths"] = paths

# Every operation that takes an Idempotency-Key can answer what the key itself causes.
for item in doc["paths"].values():
    for op in item.values():
        if idem in op.get("parameters", []):
            r = op["responses"]
            r.setdefault("400", err_resp("Bad input (an Idempotency-Key must be 1 to 255 printable ASCII characters)."))
            r.setdefault("409", err_resp("A request with this Idempotency-Key is still in progress."))
            r.setdefault("422", err_resp("Idempotency-Key reused with another request."))

# Every operation behind a key: a client past AUTH_FAILURES_PER_MINUTE failed
# authentications gets 429 with Retry-After instead of 401.
for item in doc["paths"].values():
    for op in item.values():
        if op.get("security", doc.get("security")):
            op["responses"].setdefault("429", err_resp(
                "Too many failed authentications from this client this minute (TOO_MANY_FAILED_AUTHENTICATIONS); see Retry-After."))

print(json.dumps(doc, indent=2, ensure_ascii=False))
