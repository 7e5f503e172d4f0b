//! The TypeScript types of the package's inputs and outputs, emitted into the
//! generated `.d.ts` so that the public API has no `any`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A decimal: a JSON number, or a string holding one (`"0.1"`, `"1E+9"`). */
export type Decimal = number | string;
/** A calendar date, `YYYY-MM-DD`. */
export type DateString = string;

export type BillingFrequency = "MONTHLY" | "QUARTERLY" | "SEMI_ANNUALLY" | "ANNUALLY";
export type BillingTiming = "IN_ADVANCE" | "IN_ARREARS";
export type Rounding = "HALF_UP" | "HALF_EVEN";

/** One tier: covers `(previous upTo, upTo]`; the last tier has `upTo: null`. */
export interface Tier {
  upTo: Decimal | null;
  unitAmount?: Decimal;
  flatAmount?: Decimal;
}

/**
 * A product's price: for one period of its rate, or (`type: "ONE_TIME"`) the
 * whole charge, once, on the invoice of the day its line starts (a setup fee,
 * a device, a pack of prepaid credit: `grantsCredit`).
 */
export type Price = (
  | { productId: string; model: "FLAT"; amount: Decimal }
  | { productId: string; model: "PER_UNIT"; unitAmount: Decimal }
  | { productId: string; model: "TIERED" | "VOLUME" | "STAIRSTEP"; tiers: Tier[] }
  | { productId: string; model: "PACKAGE"; packageSize: Decimal; packageAmount: Decimal }
) &
  (
    | { type?: "RECURRING"; grantsCredit?: false }
    | { type: "ONE_TIME"; /** Sells prepaid credit for later invoices. */ grantsCredit?: boolean }
  );

/** What a quote item or an invoice line bills: a period's share, a one-time charge, or a period's usage. */
export type LineType = "RECURRING" | "ONE_TIME" | "USAGE";

export interface Rate {
  id: string;
  name?: string;
  billingFrequency: BillingFrequency;
  billingTiming: BillingTiming;
  trialDays?: number;
  termMonths?: number | null;
  /** One price per product of the offering. */
  prices: Price[];
}

export interface Offering {
  id: string;
  name?: string;
  productIds: string[];
  rates: Rate[];
}

export interface Product {
  id: string;
  name?: string;
  minQuantity?: Decimal;
  maxQuantity?: Decimal | null;
  defaultQuantity?: Decimal;
  /**
   * A metered product: priced on a period's usage (its price's model applied
   * to the period's total), billed at the period's end, never prorated.
   * `SUM` adds the days' usage; `MAX` takes the highest day.
   */
  metered?: { aggregation: "SUM" | "MAX" };
}

/** A metered product's usage on one day (UTC), for `billingDue`. */
export interface UsageDay {
  productId: string;
  date: DateString;
  quantity: Decimal;
}

export interface TaxRate {
  country: string;
  state?: string;
  rate: Decimal;
  name?: string;
}

export interface BillGroup {
  autoEmailInvoice?: boolean;
  collectInvoiceBalanceAutomatically?: boolean;
}

export type BillingAnchor = { type: "ANNIVERSARY" } | { type: "DAY_OF_MONTH"; day: number };

export interface CatalogSettings {
  billingAnchor?: BillingAnchor;
  rounding?: Rounding;
  defaultBillGroup?: BillGroup;
  taxRates?: TaxRate[];
}

/** The published catalog (`GET /api/catalog`). */
export interface Catalog {
  currency: string;
  settings?: CatalogSettings;
  products: Product[];
  offerings: Offering[];
  /** What a quote may redeem with `quote.couponId`. */
  coupons?: Coupon[];
}

/** A coupon: a percentage off the offerings it covers, for a while. */
export type Coupon = {
  id: string;
  name?: string;
  /** In (0, 100]. */
  percentOff: Decimal;
  /** The offerings it covers; all when absent. */
  appliesTo?: string[];
  /** The last day a quote may redeem it. */
  redeemBy?: DateString;
} & (
  | { duration: "ONCE" | "FOREVER" }
  | { duration: "REPEATING"; /** At least 1. */ durationMonths: number }
);

/** The deal a coupon made, as a quote answers it and a contract keeps it. */
export interface Discount {
  couponId: string;
  percentOff: number;
  appliesTo: string[] | null;
  /** Pieces of periods starting before it are discounted; null: always. */
  endDate: DateString | null;
}

export interface BillingAddress {
  line1?: string;
  line2?: string;
  city?: string;
  state?: string;
  postalCode?: string;
  country?: string;
}

export type SignUpAction =
  | "CREATE_AND_FINALIZE"
  | "CREATE_WITH_PAYMENT_METHOD"
  | "CREATE_IN_PENDING"
  | "INIT_PAYMENT_METHOD"
  | "UPDATE"
  | "FINALIZE"
  | "CANCEL"
  | "ESTIMATE";

/** A Sign-Up API request; ESTIMATE reads only `quote`. */
export interface SignUpRequest {
  action?: SignUpAction;
  customer?: {
    accountName: string;
    customId?: string | null;
    name: string;
    email: string;
    billingAddress?: BillingAddress;
  };
  billGroup?: BillGroup;
  quote: {
    /** Defaults to today; never in the past. */
    startDate?: DateString | null;
    customId?: string | null;
    /** A coupon of the catalog (the API takes it with the secret key only). */
    couponId?: string | null;
    offerings: {
      offeringId: string;
      rateId: string;
      /**
       * Products not listed (or without a quantity) take their defaultQuantity.
       * A metered product's quantity is the expected usage per period.
       */
      items?: { productId: string; quantity?: Decimal | null }[];
    }[];
  };
  paymentMethod?: { paymentMethodName?: string; paymentToken: string };
}

export interface QuoteItem {
  productId: string;
  type: LineType;
  /** A metered product's item: `quantity` is the expected usage, priced per period, billed at its end. */
  metered?: true;
  quantity: number;
  /** One whole period, or the whole one-time charge. */
  amountWithoutTax: number;
  amount: number;
  /** What a discount took off (0 without one). */
  discountAmount: number;
}

export interface QuoteOffering {
  offeringId: string;
  rateId: string;
  billingFrequency: BillingFrequency;
  billingTiming: BillingTiming;
  endDate: DateString | null;
  amountWithoutTax: number;
  amount: number;
  items: QuoteItem[];
}

export interface InvoiceLine {
  offeringId: string;
  rateId: string;
  productId: string;
  /** A one-time line is dated its day (`periodStart` = `periodEnd`), factor `"1.000000"`. */
  type: LineType;
  quantity: number;
  periodStart: DateString;
  periodEnd: DateString;
  /** `days / days of the whole period`, six decimals: `"0.548387"`. */
  prorationFactor: string;
  /** Negative for a credit. */
  amount: number;
  /** What a discount took off (0 without one). */
  discountAmount: number;
  tax: number;
  /** Present (true) on a one-time line that sells prepaid credit. */
  grantsCredit?: true;
}

export interface Invoice {
  invoiceDate: DateString;
  amountWithoutTax: number;
  /** The lines' discounts. */
  discountAmount: number;
  tax: number;
  amount: number;
  lines: InvoiceLine[];
}

/** The ESTIMATE: one period of everything, and what is paid at sign-up. */
export interface Quote {
  currency: string;
  startDate: DateString;
  endDate: DateString | null;
  amountWithoutTax: number;
  amount: number;
  /** What discounts took off the items (0 without a coupon). */
  discountAmount: number;
  /** With `quote.couponId`: the deal, which the contract keeps. */
  discount?: Discount;
  /** The recurring items by frequency (one-time items count in none). */
  recurring: { billingFrequency: BillingFrequency; amountWithoutTax: number }[];
  /** The one-time items (0 when none). */
  oneTime: { amountWithoutTax: number };
  offerings: QuoteOffering[];
  firstInvoice: Invoice;
  /** `null` when nothing recurs (a purchase of one-time prices only). */
  nextInvoiceDate: DateString | null;
}

export interface ContractProduct {
  productId: string;
  quantity: number;
}

export interface ContractLine {
  offeringId: string;
  rateId: string;
  serviceStart: DateString;
  anchorDate: DateString;
  anchorDay: number;
  invoicedThrough: DateString;
  /** The last day whose usage is billed (a line with metered products). */
  meteredThrough?: DateString;
  products: ContractProduct[];
}

/**
 * Time an `IN_ARREARS` line used on terms a change replaced, owed at the end
 * of its period (one piece per period piece), billed once by `billingDue`.
 */
export interface ArrearsPiece {
  offeringId: string;
  rateId: string;
  serviceStart: DateString;
  anchorDate: DateString;
  anchorDay: number;
  start: DateString;
  end: DateString;
  /** Licensed products with their quantities; a metered product whose usage the piece bills is `{ productId, metered: true }`. */
  products: (ContractProduct | { productId: string; metered: true })[];
  /** The published catalog version its terms come from, when not the contract's own (set by the API). */
  catalogVersion?: number;
}

export interface Contract {
  id: string;
  status: "ACTIVE" | "CANCELED";
  currency: string;
  startDate: DateString;
  endDate: DateString | null;
  /** The deal a coupon made at sign-up; absent when none. */
  discount?: Discount;
  offerings: ContractLine[];
  /** Absent when nothing is kept. */
  unbilledArrears?: ArrearsPiece[];
}

/** A contract as the API returns it; `anchorDate` may be omitted. */
export interface ContractInput {
  id?: string;
  status: "ACTIVE" | "CANCELED";
  currency: string;
  startDate: DateString;
  endDate?: DateString | null;
  discount?: Discount;
  offerings: {
    offeringId: string;
    rateId: string;
    serviceStart: DateString;
    anchorDate?: DateString;
    anchorDay: number;
    invoicedThrough: DateString;
    meteredThrough?: DateString;
    products: { productId: string; quantity: Decimal }[];
  }[];
  unbilledArrears?: (Omit<ArrearsPiece, "products"> & {
    products: ({ productId: string; quantity: Decimal } | { productId: string; metered: true })[];
  })[];
  /** The published catalog version the contract is priced on (the API's; the engine reads it to mark kept pieces). */
  catalogVersion?: number;
}

interface ContractOperationBase {
  contractId?: string;
  /** A date, or an RFC 3339 date-time taken as its calendar date in its own offset. */
  effectiveDate?: string | null;
  /** Wins over `effectiveDate`. */
  relativeEffectiveDate?: "NEXT_BILL_CYCLE" | null;
}

type ProductQuantities = { productId: string; quantity: Decimal }[];

export type ContractOperation =
  | (ContractOperationBase & {
      action: "QUANTITY_CHANGE";
      payload: { offerings: { offeringId: string; products: ProductQuantities }[] };
    })
  | (ContractOperationBase & {
      action: "RATE_CHANGE";
      payload: { offerings: { offeringId: string; rateId: string; products?: ProductQuantities }[] };
    })
  | (ContractOperationBase & {
      action: "OFFERING_CHANGE";
      payload: { offerings: { offeringId: string; newOfferingId: string; products?: ProductQuantities }[] };
    })
  | (ContractOperationBase & {
      action: "ADD_OFFERING";
      payload: { offerings: { offeringId: string; rateId?: string; products?: ProductQuantities }[] };
    })
  | (ContractOperationBase & {
      action: "REMOVE_OFFERING";
      payload: { offerings: { offeringId: string }[] };
    })
  | (ContractOperationBase & { action: "CANCELLATION"; payload: null });

/** The contract in force after a change, and the invoice it issues (no tax). */
export interface ChangePreview {
  contract: Contract;
  invoice: Invoice;
}

/** What a billing run through a date issues: one invoice per date (no tax), and the contract after. */
export interface Billing {
  invoices: Invoice[];
  contract: Contract;
}

export type ErrorCode =
  | "MISSING_FIELD"
  | "INVALID_VALUE"
  | "UNKNOWN_OFFERING"
  | "UNKNOWN_RATE"
  | "UNKNOWN_PRODUCT"
  | "DUPLICATE_OFFERING"
  | "DUPLICATE_PRODUCT"
  | "QUANTITY_OUT_OF_RANGE"
  | "START_DATE_IN_PAST"
  | "INVALID_CATALOG"
  | "EFFECTIVE_DATE_IN_PAST"
  | "EFFECTIVE_DATE_AFTER_END"
  | "CONTRACT_NOT_ACTIVE"
  | "OVERFLOW"
  | "UNKNOWN_COUPON"
  | "COUPON_EXPIRED"
  | "COUPON_NOT_APPLICABLE"
  | "METERED_PRODUCT";

/** What every function throws: an `Error` with the engine's code and the JSON path of the offending field. */
export interface PricingError extends Error {
  name: "PricingError";
  code: ErrorCode;
  /** `quote.offerings[0].items[1].quantity`; relative to the catalog for INVALID_CATALOG. */
  path: string;
  message: string;
}
"#;
