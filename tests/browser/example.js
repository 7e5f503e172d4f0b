// The spec's ESTIMATE example (shared vector 012): 10 seats at 12 from
// 2024-01-15 with DAY_OF_MONTH 1 billing. The first invoice is 17/31 of 120:
// 65.81. Every integration page prices it and shows the figures.
export const catalog = {
  currency: 'USD',
  settings: { billingAnchor: { type: 'DAY_OF_MONTH', day: 1 } },
  products: [{ id: 'prod_seats', name: 'Seats', minQuantity: 1, maxQuantity: 500 }],
  offerings: [
    {
      id: 'offr_team',
      name: 'Team',
      productIds: ['prod_seats'],
      rates: [
        {
          id: 'rate_team_monthly',
          name: 'Monthly',
          billingFrequency: 'MONTHLY',
          billingTiming: 'IN_ADVANCE',
          termMonths: 12,
          prices: [{ productId: 'prod_seats', model: 'PER_UNIT', unitAmount: '12' }],
        },
      ],
    },
  ],
};

export const request = {
  action: 'ESTIMATE',
  quote: {
    startDate: '2024-01-15',
    offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: 10 }] }],
  },
};

export const today = '2024-01-15';

/** Prices the example with the package and writes the result into the page. */
export function show(pricing, where) {
  const quote = new pricing.Pricing(catalog).estimate(request, today);
  where.textContent = JSON.stringify({
    perPeriod: quote.amount,
    dueToday: quote.firstInvoice.amount,
    factor: quote.firstInvoice.lines[0].prorationFactor,
    nextInvoiceDate: quote.nextInvoiceDate,
  });
  document.body.dataset.status = 'priced';
}
