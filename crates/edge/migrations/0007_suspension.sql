-- Why an invoice is VOID: 'SUSPENDED' when dunning gave up and its contract
-- was suspended (its periods are billed again, for the days before the
-- suspension, when the contract resumes; never reopened); NULL otherwise
-- (a new card reopens it).
ALTER TABLE invoices ADD COLUMN void_reason TEXT;
