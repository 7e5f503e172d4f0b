// Compiled by `tsc --noEmit` in make test: the package's declarations describe
// every input and output precisely. Lines marked @ts-expect-error must fail
// to type-check, so a loosened declaration (an `any`) breaks the build.
import init, {
  initSync,
  estimate,
  previewChange,
  billingDue,
  dueAtSignUp,
  validateCatalog,
  Pricing,
  type Catalog,
  type SignUpRequest,
  type Quote,
  type ChangePreview,
  type Billing,
  type Invoice,
  type ContractInput,
  type ContractOperation,
  type PricingError,
  type ErrorCode,
  type UsageDay,
  type LineType,
} from '@quotekit/pricing';

const catalog: Catalog = {
  currency: 'USD',
  settings: { billingAnchor: { type: 'DAY_OF_MONTH', day: 1 }, rounding: 'HALF_UP' },
  products: [{ id: 'prod_seats', minQuantity: 1, maxQuantity: 500 }],
  offerings: [
    {
      id: 'offr_team',
      productIds: ['prod_seats'],
      rates: [
        {
          id: 'rate_team_monthly',
          billingFrequency: 'MONTHLY',
          billingTiming: 'IN_ADVANCE',
          prices: [
            { productId: 'prod_seats', model: 'TIERED', tiers: [{ upTo: 10, unitAmount: '12' }, { upTo: null, unitAmount: 10 }] },
          ],
        },
      ],
    },
  ],
};

const request: SignUpRequest = {
  quote: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: '10' }] }] },
};

export async function demo(): Promise<number> {
  await init();
  validateCatalog(catalog);
  const quote: Quote = new Pricing(catalog).estimate(request, '2026-11-21');
  const same: Quote = estimate(catalog, request);
  const due: number = quote.firstInvoice.amount + same.amount;
  const factor: string = quote.firstInvoice.lines[0].prorationFactor;
  const end: string | null = quote.endDate;

  const contract: ContractInput = {
    status: 'ACTIVE',
    currency: 'USD',
    startDate: '2026-11-21',
    offerings: [
      { offeringId: 'offr_team', rateId: 'rate_team_monthly', serviceStart: '2026-11-21', anchorDay: 1,
        invoicedThrough: '2026-12-01', products: [{ productId: 'prod_seats', quantity: 10 }] },
    ],
  };
  const op: ContractOperation = {
    action: 'QUANTITY_CHANGE',
    payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 15 }] }] },
  };
  const preview: ChangePreview = previewChange(catalog, contract, { operations: [op] });
  const status: 'ACTIVE' | 'CANCELED' = preview.contract.status;

  try {
    estimate(catalog, request);
  } catch (e) {
    const err = e as PricingError;
    const code: ErrorCode = err.code;
    const where: string = err.path;
    void [code, where];
  }

  // @ts-expect-error: a model the catalog does not know
  const badPrice: Catalog['offerings'][0]['rates'][0]['prices'][0] = { productId: 'p', model: 'FREE' };
  // @ts-expect-error: amounts are numbers, not strings, in a quote
  const badAmount: string = quote.amount;
  // @ts-expect-error: CANCELLATION carries a null payload
  const badCancel: ContractOperation = { action: 'CANCELLATION', payload: { offerings: [] } };
  // @ts-expect-error: an unknown action
  const badOp: ContractOperation = { action: 'PAUSE', payload: null };
  // @ts-expect-error: the result is typed, not any
  const notAny: boolean = estimate(catalog, request);
  void [badPrice, badAmount, badCancel, badOp, notAny, factor, end, status, initSync];
  return due;
}

// billingDue: the invoices a billing run issues, typed.
{
  const contract: ContractInput = {
    status: 'ACTIVE', currency: 'USD', startDate: '2026-01-01',
    offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', serviceStart: '2026-01-01', anchorDay: 1,
      invoicedThrough: '2026-02-01', products: [{ productId: 'prod_seats', quantity: 3 }] }],
  };
  const billing: Billing = billingDue(catalog, contract, '2026-03-01');
  const first: Invoice | undefined = billing.invoices[0];
  const through: string | undefined = billing.contract.offerings[0]?.invoicedThrough;
  void first;
  void through;
}

// dueAtSignUp: an Invoice, tax included.
{
  const request: SignUpRequest = {
    customer: { accountName: 'A', name: 'B', email: 'b@a.test', billingAddress: { country: 'US', state: 'CA' } },
    quote: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly' }] },
  };
  const due: Invoice = dueAtSignUp(catalog, request, '2026-03-01');
  const tax: number = due.tax;
  void tax;
}

// One-time prices: a setup fee next to the seats; typed items, lines and totals.
{
  const withSetup: Catalog = {
    currency: 'USD',
    products: [{ id: 'prod_seats' }, { id: 'prod_setup', defaultQuantity: 1 }],
    offerings: [{
      id: 'offr_team', productIds: ['prod_seats', 'prod_setup'],
      rates: [{
        id: 'rate_team_monthly', billingFrequency: 'MONTHLY', billingTiming: 'IN_ADVANCE',
        prices: [
          { productId: 'prod_seats', model: 'PER_UNIT', unitAmount: '12' },
          { productId: 'prod_setup', model: 'FLAT', amount: '99', type: 'ONE_TIME', grantsCredit: false },
        ],
      }],
    }],
  };
  const quote: Quote = estimate(withSetup, request, '2026-03-01');
  const once: number = quote.oneTime.amountWithoutTax;
  const kind: 'RECURRING' | 'ONE_TIME' | 'USAGE' = quote.offerings[0].items[1].type;
  const lineKind: 'RECURRING' | 'ONE_TIME' | 'USAGE' = quote.firstInvoice.lines[0].type;
  const off: number = quote.discountAmount + quote.firstInvoice.discountAmount;
  const next: string | null = quote.nextInvoiceDate;
  // @ts-expect-error: only a ONE_TIME price grants credit
  const badCredit: Catalog['offerings'][0]['rates'][0]['prices'][0] = { productId: 'p', model: 'FLAT', amount: 1, grantsCredit: true };
  // @ts-expect-error: nextInvoiceDate may be null (nothing recurring)
  const notNull: string = quote.nextInvoiceDate;
  void [once, kind, lineKind, off, next, badCredit, notNull];
}

// Coupons: in the catalog, named by a quote, kept by the contract.
{
  const withCoupon: Catalog = {
    ...catalog,
    coupons: [{ id: 'cpn_launch', percentOff: '20', duration: 'REPEATING', durationMonths: 3, appliesTo: ['offr_team'] }],
  };
  const quote: Quote = estimate(withCoupon, { quote: { couponId: 'cpn_launch', offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly' }] } });
  const until: string | null | undefined = quote.discount?.endDate;
  const off: number = quote.offerings[0].items[0].discountAmount;
  const code: ErrorCode = 'COUPON_EXPIRED';
  // @ts-expect-error: a REPEATING coupon says for how many months
  const badCoupon: NonNullable<Catalog['coupons']>[0] = { id: 'c', percentOff: 10, duration: 'REPEATING' };
  void [until, off, code, badCoupon];
}

// Metered products: expected usage in the estimate, usage per day in billingDue.
{
  const metered: Catalog = {
    currency: 'USD',
    products: [{ id: 'prod_calls', name: 'API calls', metered: { aggregation: 'SUM' } }],
    offerings: [{
      id: 'offr_api', productIds: ['prod_calls'],
      rates: [{ id: 'rate_api_monthly', billingFrequency: 'MONTHLY', billingTiming: 'IN_ARREARS', prices: [
        { productId: 'prod_calls', model: 'TIERED', tiers: [{ upTo: 100000, unitAmount: 0 }, { upTo: null, unitAmount: '0.001' }] },
      ] }],
    }],
  };
  const quote: Quote = estimate(metered, { quote: { offerings: [{ offeringId: 'offr_api', rateId: 'rate_api_monthly', items: [{ productId: 'prod_calls', quantity: 150000 }] }] } });
  const expected: true | undefined = quote.offerings[0].items[0].metered;
  const contract: ContractInput = {
    status: 'ACTIVE', currency: 'USD', startDate: '2026-01-01',
    offerings: [{ offeringId: 'offr_api', rateId: 'rate_api_monthly', serviceStart: '2026-01-01', anchorDay: 1,
      invoicedThrough: '2026-01-01', meteredThrough: '2025-12-31', products: [{ productId: 'prod_calls', quantity: 0 }] }],
  };
  const usage: UsageDay[] = [{ productId: 'prod_calls', date: '2026-01-15', quantity: 150000 }];
  const billing: Billing = billingDue(metered, contract, '2026-02-01', usage);
  const usageLine: LineType | undefined = billing.invoices[0]?.lines[0]?.type;
  const code: ErrorCode = 'METERED_PRODUCT';
  // @ts-expect-error: aggregation is SUM or MAX
  const badAggregation: Catalog['products'][0] = { id: 'p', metered: { aggregation: 'AVG' } };
  void [expected, usageLine, code, badAggregation];
}
